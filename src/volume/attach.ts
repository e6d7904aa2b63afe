// A container's mounts from its flags to its record and back: resolve (the image's VOLUME paths,
// --volumes-from, bind sources checked on the host; nothing is created), attach (after admission,
// with the store's lock held shared: volumes created, uses registered, missing -v sources made),
// source (where each mount comes from on the host when the container starts) and release (when the
// container goes: uses dropped, anonymous volumes removed with run --rm and rm -v).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { layout, Roots } from '../paths';
import type { MountConfig } from '../model';
import type { MountRequest } from './mount-flags';
import { bindDevice, checkBindSource, resolveHostPath } from './host-paths';
import { anonymousVolumeName, VolumeStore } from './store';

/**
 * The container's mounts, resolved without creating anything: the flags' mounts, then those of
 * --volumes-from containers and the image's VOLUME paths that no flag covers (anonymous volumes,
 * each a new one unless `reuse` names an existing one for its target); bind sources resolved on
 * the host and checked; parents mounted before what lies below them.
 */
export function resolveMounts(
  roots: Roots,
  requests: MountRequest[],
  volumesFrom: Array<{ id: string; mounts: MountConfig[]; mode?: 'ro' | 'rw' }>,
  imageVolumes: string[],
  reuse: Record<string, string> = {},
): MountRequest[] {
  const out = [...requests];
  const taken = new Set(out.map((m) => m.target));
  for (const from of volumesFrom) {
    for (const m of from.mounts) {
      if (m.type === 'tmpfs' || taken.has(m.target)) continue;
      taken.add(m.target);
      const readOnly = from.mode === undefined ? m.readOnly : from.mode === 'ro';
      out.push({ ...m, readOnly, anonymous: false, noCopy: true, fromContainer: from.id });
    }
  }
  for (const target of imageVolumes) {
    const clean = path.posix.normalize(target).replace(/(.)\/$/, '$1');
    if (!clean.startsWith('/') || clean === '/' || taken.has(clean)) continue;
    taken.add(clean);
    out.push({ type: 'volume', source: '', target: clean, readOnly: false, anonymous: true, origin: 'image' });
  }
  const volumes = new VolumeStore(roots);
  for (const m of out) {
    if (m.type === 'volume' && !m.source) m.source = reuse[m.target] ?? anonymousVolumeName();
    if (m.type === 'volume') {
      // a volume that binds a host directory is a bind for whoever judges the mount (policies)
      const device = bindDevice(volumes.get(m.source)?.options ?? m.volumeOptions ?? {});
      if (device) m.hostSource = resolveHostPath(device);
    }
    if (m.type !== 'bind') continue;
    const resolved = resolveHostPath(m.source);
    if (!m.boxOwned) checkBindSource(roots, m.source, resolved);
    if (!m.createSource && !fs.existsSync(resolved)) {
      throw new BoxError(
        `invalid mount config for type "bind": bind source path does not exist: ${m.source} (create it first, or use -v)`,
      );
    }
    m.source = resolved;
  }
  const depth = (t: string) => t.split('/').length;
  return out.sort((a, b) => depth(a.target) - depth(b.target));
}

/**
 * Creates what the (admitted) mounts need and registers container `id` as the user of its
 * volumes; the caller holds the store's lock shared until the record exists. Returns what undoes
 * it (for a record that could not be written); a failure here undoes itself.
 */
export function attachMounts(roots: Roots, id: string, mounts: MountConfig[], requests: MountRequest[]): () => void {
  const store = new VolumeStore(roots);
  const made: string[] = [];
  const used: string[] = [];
  const asked = new Map(requests.map((r) => [r.target, r]));
  // volumes made here are this creation's alone (nobody else has a record using them yet)
  const undo = () => {
    for (const name of used) store.dropUse(name, id);
    for (const name of made) store.remove(name);
  };
  try {
    for (const m of mounts) {
      const r = asked.get(m.target);
      if (m.type === 'bind' && r?.createSource && !fs.existsSync(m.source)) fs.mkdirSync(m.source, { recursive: true });
      if (m.type !== 'volume') continue;
      const { created } = store.create(m.source, { anonymous: m.anonymous, options: r?.volumeOptions });
      if (created) made.push(m.source);
      store.addUse(m.source, id);
      used.push(m.source);
      // its container's removal may be letting go of this volume now: see releaseMounts
      if (r?.fromContainer && !fs.existsSync(layout.container(roots, r.fromContainer))) {
        throw new BoxError(`the container of --volumes-from was removed meanwhile: try again`);
      }
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}

/** The mounts as the record keeps them (without what only their creation needs). */
export function mountConfigs(requests: MountRequest[]): MountConfig[] {
  return requests.map(({ volumeOptions: _o, createSource: _c, fromContainer: _f, boxOwned: _b, ...config }) => config);
}

/** Where a mount comes from on the host at start, and what the local driver's options ask for. */
export interface MountSource {
  mount: MountConfig;
  /** bind: the source; a plain volume: its directory; a driver-option volume: its device */
  hostPath: string;
  /** a volume with driver options: the file system type (tmpfs, none for a bind, ext4...) and data */
  driver?: { type: string; options: string };
}

export function mountSources(roots: Roots, mounts: MountConfig[]): MountSource[] {
  const store = new VolumeStore(roots);
  return mounts.map((mount) => {
    if (mount.type === 'bind') return { mount, hostPath: mount.source };
    if (mount.type === 'tmpfs') return { mount, hostPath: '' };
    const v = store.get(mount.source);
    if (!v) {
      throw new BoxError(
        `volume ${mount.source} of this container is gone (${mount.target}): remove the container and create it again`,
      );
    }
    const { type, device, o } = v.options;
    if (type === undefined) return { mount, hostPath: fs.realpathSync(store.dataDir(v.name)) };
    // a bind's device is opened by the helper with no symlink on its way: give it resolved
    const hostPath = device && bindDevice(v.options) ? resolveHostPath(device) : (device ?? '');
    return { mount, hostPath, driver: { type, options: o ?? '' } };
  });
}

/**
 * Lets go of a removed container's volumes: its uses go; with `removeAnonymous` (run --rm, rm -v)
 * its anonymous volumes too, once no container uses them (VolumeStore.removeIfUnused: safe beside
 * a creation that registers a use meanwhile, so it needs no lock and runs also where the caller
 * holds the store's lock shared).
 */
export function releaseMounts(
  roots: Roots,
  id: string,
  mounts: MountConfig[] | undefined,
  removeAnonymous: boolean,
): void {
  const volumes = (mounts ?? []).filter((m) => m.type === 'volume');
  const store = new VolumeStore(roots);
  for (const m of volumes) store.dropUse(m.source, id);
  if (!removeAnonymous) return;
  for (const m of volumes) if (m.anonymous && store.get(m.source)) store.removeIfUnused(m.source);
}
