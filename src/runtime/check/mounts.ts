// Mounts under the storage root or the runtime root, from the kernel's mount table. box mounts a
// container's root, volumes and binds only inside the container's own mount namespace, so on the
// host nothing of box's is mounted below its roots but the tmpfs of a shared tmpfs volume while a
// container holds it: a mount there is a leftover (of a tool run by hand, an older box, a killed
// test, a tmpfs volume's last holder killed), unless it lies in a live container's own directory
// or in a volume's data (where a user may mount the storage a volume stands for).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountTable } from '../../linux/mountinfo';
import { MNT_DETACH, umount2 } from '../../linux/syscalls';
import { CONTAINER_ID_RE, layout } from '../../paths';
import { settleSharedTmpfs, sharedTmpfsHeld } from '../../volume/shared-tmpfs';
import { VolumeStore } from '../../volume/store';
import { CheckContext } from './context';
import { Checker, Finding } from './types';

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** The live container whose directory (record or runtime) holds `mountPoint`, if any. */
function liveOwner(ctx: CheckContext, mountPoint: string): string | undefined {
  for (const dir of [layout.containers(ctx.roots), layout.runContainers(ctx.roots)]) {
    const rel = path.relative(realOrSelf(dir), mountPoint);
    const id = rel.split(path.sep)[0];
    if (!rel.startsWith('..') && CONTAINER_ID_RE.test(id) && ctx.isLive(id)) return id;
  }
  return undefined;
}

/**
 * Whether the mount lies in an existing volume's data (volumes/NAME/_data): a host's own storage
 * mounted there by its user serves the volume, and is no leftover of box's.
 */
function inVolumeData(ctx: CheckContext, mountPoint: string): boolean {
  const rel = path.relative(realOrSelf(layout.volumes(ctx.roots)), mountPoint).split(path.sep);
  return (
    rel[0] !== '..' && rel[1] === '_data' && fs.existsSync(path.join(layout.volumes(ctx.roots), rel[0], 'volume.json'))
  );
}

/**
 * The volume whose shared tmpfs this is (mounted at its _data: src/volume/shared-tmpfs.ts), when no
 * container holds it any more (the last one was killed and nothing settled it since).
 */
function unheldSharedTmpfs(ctx: CheckContext, m: { mountPoint: string; fstype: string }): string | undefined {
  const rel = path.relative(realOrSelf(layout.volumes(ctx.roots)), m.mountPoint).split(path.sep);
  if (m.fstype !== 'tmpfs' || rel.length !== 2 || rel[1] !== '_data') return undefined;
  const volume = new VolumeStore(ctx.roots).get(rel[0]);
  if (volume?.options.type !== 'tmpfs') return undefined;
  return sharedTmpfsHeld(ctx.roots, volume.name, (id) => ctx.inUse(id)) ? undefined : volume.name;
}

export const mountChecker: Checker = {
  kind: 'mount',
  async find(ctx) {
    const roots = [...new Set([ctx.roots.root, ctx.roots.runroot].map(realOrSelf))];
    const under = (p: string) => roots.some((r) => p.startsWith(r + '/'));
    const out: Finding[] = [];
    for (const m of mountTable()) {
      if (!under(m.mountPoint) || liveOwner(ctx, m.mountPoint)) continue;
      const volume = unheldSharedTmpfs(ctx, m);
      if (volume) {
        const reason = `the tmpfs of volume ${volume}, which no container that uses it holds any more`;
        out.push({ kind: 'mount', object: m.mountPoint, reason, detail: { volume } });
        continue;
      }
      if (inVolumeData(ctx, m.mountPoint)) continue;
      const reason = `a ${m.fstype} mount on the host under box's root: box mounts only inside containers`;
      out.push({ kind: 'mount', object: m.mountPoint, reason });
    }
    // the deepest first, so --fix unmounts a mount before the one it lies on
    return out.reverse();
  },
  async fix(ctx, f) {
    if (typeof f.detail?.volume === 'string') {
      // through the volume's own settling, under its lock (a container starting meanwhile keeps it)
      return settleSharedTmpfs(ctx.roots, f.detail.volume, (id) => ctx.store.isRunning(id));
    }
    try {
      umount2(f.object, MNT_DETACH);
    } catch (err) {
      // gone meanwhile (unmounted with its parent): nothing left to do
      if (!mountTable().some((m) => m.mountPoint === f.object)) return;
      throw err;
    }
  },
};
