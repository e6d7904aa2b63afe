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
