// A container's mounts as `docker inspect` shows them: Mounts (what is mounted where), and under
// HostConfig how they were asked for (Binds for -v, Mounts for --mount, Tmpfs for --tmpfs).
import type { MountConfig } from '../model';
import { Roots } from '../paths';
import { VolumeStore } from './store';

export function inspectMounts(roots: Roots, mounts: MountConfig[] = []): Record<string, unknown>[] {
  const store = new VolumeStore(roots);
  return mounts
    .filter((m) => m.origin !== 'tmpfs')
    .map((m) => {
      const rw = !m.readOnly;
      if (m.type === 'volume') {
        const mode = m.origin === 'v' && m.spec?.split(':').length === 3 ? m.spec.split(':')[2] : '';
        return {
          Type: 'volume',
          Name: m.source,
          Source: store.dataDir(m.source),
          Destination: m.target,
          Driver: 'local',
          Mode: mode,
          RW: rw,
          Propagation: '',
        };
      }
      if (m.type === 'bind') {
        return {
          Type: 'bind',
          Source: m.source,
          Destination: m.target,
          Mode: '',
          RW: rw,
          Propagation: m.propagation ?? 'rprivate',
        };
      }
      return { Type: 'tmpfs', Source: '', Destination: m.target, Mode: '', RW: rw, Propagation: '' };
    });
}

/** HostConfig's Binds, Mounts and Tmpfs (Docker's null when none was given). */
export function hostConfigMounts(mounts: MountConfig[] = []): Record<string, unknown> {
  const binds = mounts.filter((m) => m.origin === 'v' && m.spec?.includes(':')).map((m) => m.spec);
  const given = mounts.filter((m) => m.origin === 'mount').map(mountFlagJson);
  const tmpfs = mounts.filter((m) => m.origin === 'tmpfs').map((m) => [m.target, m.tmpfsOptions ?? '']);
  return {
    Binds: binds.length ? binds : null,
    Mounts: given.length ? given : undefined,
    Tmpfs: tmpfs.length ? Object.fromEntries(tmpfs) : undefined,
  };
}

function mountFlagJson(m: MountConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { Type: m.type, Source: m.anonymous ? '' : m.source, Target: m.target };
  if (m.readOnly) out.ReadOnly = true;
  if (m.type === 'bind' && (m.propagation || m.nonRecursive)) {
    out.BindOptions = { Propagation: m.propagation, NonRecursive: m.nonRecursive || undefined };
  }
  if (m.type === 'volume' && m.noCopy) out.VolumeOptions = { NoCopy: true };
  if (m.type === 'tmpfs' && m.tmpfsOptions) {
    const opt = Object.fromEntries(m.tmpfsOptions.split(',').map((o) => o.split('=')));
    out.TmpfsOptions = {
      SizeBytes: opt.size ? Number(opt.size) : undefined,
      Mode: opt.mode ? Number.parseInt(opt.mode, 8) : undefined,
    };
  }
  return out;
}

/** A container's mounts as filters and formats see them (Docker's .Mounts: a volume's name, else the source). */
export function mountFacts(mounts: MountConfig[] = []): Array<{ name?: string; source: string; destination: string }> {
  return mounts.map((m) =>
    m.type === 'volume'
      ? { name: m.source, source: m.hostSource ?? m.source, destination: m.target }
      : { source: m.source, destination: m.target },
  );
}

/** Config.Volumes: the image's VOLUME paths and the anonymous volumes -v /path asked for (Docker's null when none). */
export function configVolumes(
  imageVolumes: Record<string, object> | null | undefined,
  mounts: MountConfig[] = [],
): Record<string, object> | null {
  const out: Record<string, object> = { ...(imageVolumes ?? {}) };
  for (const m of mounts) if (m.origin === 'v' && m.anonymous && !m.spec?.includes(':')) out[m.target] = {};
  return Object.keys(out).length ? out : null;
}
