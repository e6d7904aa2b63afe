// Builds the helper spec for one container: namespaces, the root filesystem and the standard
// mounts Docker users expect, masked paths, and the process attributes. Pure: it only describes.
import type { InitCgroup } from '../linux/cgroups';
import { ContainerConfig, Propagation } from '../model';
import type { MountSource } from '../volume/attach';
import { tmpfsMountArgs } from '../volume/mount-flags';
import { appendProcessOps, containerProcess } from './process-ops';
import type { ProcessSecurity } from './security';
import { CLONE, HelperSpec, MS } from './spec';

export interface PlanInput {
  config: ContainerConfig;
  /** overlay lower dirs, topmost first */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  rootfsDir: string;
  /** host files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  /** volumes, binds and tmpfs mounts, parents first (src/volume/attach.ts mountSources) */
  mounts?: MountSource[];
  /** the host mount holding rootfsDir: given when a mount's propagation must reach the host */
  rootfsParentMount?: string;
  /** how the init enters its cgroup and sees the cgroup file system (the cgroup manager's initCgroup) */
  cgroup: InitCgroup;
  security: ProcessSecurity;
}

// Docker's masked and read-only paths.
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const S_IFCHR = 0o020000;
/** The standard device nodes and /dev links of every container (box's and box-runc's). */
export const DEVICES: [string, number, number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];
export const DEV_LINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['/proc/kcore', '/dev/core'],
  ['pts/ptmx', '/dev/ptmx'],
];

/** Whether a mount asks for propagation with the host (shared or slave): see rootfsParentMount. */
export function needsHostPropagation(mounts: MountSource[]): boolean {
  return mounts.some((m) => /shared|slave/.test(m.mount.propagation ?? ''));
}

export function overlayData(lowerDirs: string[], upperDir: string, workDir: string): string {
  return `lowerdir=${lowerDirs.join(':')},upperdir=${upperDir},workdir=${workDir}`;
}

export function buildSpec(p: PlanInput): HelperSpec {
  const c = p.config;
  const spec = new HelperSpec();
  const ownNet = c.network !== 'host';
  spec.op('clone', CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | (ownNet ? CLONE.NEWNET : 0));
  for (const f of p.cgroup.helperWrites) spec.op('cgroup', f);
  for (const f of p.cgroup.selfWrites) spec.op('cgroup-join', f);
  spec.op('cgroupns');
  if (c.tty) spec.op('tty');
  if (c.init) spec.op('init');

  spec.op('hostname', c.hostname);
  if (p.rootfsParentMount === undefined) spec.op('propagation', MS.REC | MS.PRIVATE);
  else {
    // A shared or slave bind must stay a peer of its host mount, so the namespace keeps the host's
    // peer groups; only the mounts that hold the root and the old root stop propagating, so that
    // nothing box mounts for the container (all of it under its root) reaches the host.
    spec.op('propagation-of', '/', MS.PRIVATE);
    spec.op('propagation-of', p.rootfsParentMount, MS.PRIVATE);
  }
  spec.op('rootfs', 'overlay', 'overlay', 0, overlayData(p.lowerDirs, p.upperDir, p.workDir), p.rootfsDir);
  const nse = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  spec.op('mount', 'proc', '/proc', 'proc', nse, '');
  spec.op('mount', 'tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k');
  for (const [path, major, minor] of DEVICES) spec.op('mknod', path, S_IFCHR | 0o666, major, minor);
  for (const [target, link] of DEV_LINKS) spec.op('symlink', target, link);
  spec.op('mount', 'devpts', '/dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5');
  spec.op('mount', 'shm', '/dev/shm', 'tmpfs', nse, 'mode=1777,size=65536k');
  spec.op('mount', 'mqueue', '/dev/mqueue', 'mqueue', nse, '');
  const sysRo = c.privileged ? 0 : MS.RDONLY;
  if (ownNet) spec.op('mount', 'sysfs', '/sys', 'sysfs', nse | sysRo, '');
  else spec.op('mount', '/sys', '/sys', '', MS.BIND | MS.REC | nse | sysRo, ''); // sysfs can only be mounted in an own netns
  // Everything above overlaps with the helper moving the child into its cgroups (slow on v1);
  // the cgroup filesystem below must be mounted inside the container's cgroup namespace.
  spec.op('await-cgroups');
  for (const m of p.cgroup.mounts) {
    spec.op('mount', m.source, m.target, m.fstype, nse | (m.readOnly ? sysRo : 0), m.data);
  }
  spec.op('mount', p.etcFiles.hostname, '/etc/hostname', '', MS.BIND, '');
  spec.op('mount', p.etcFiles.hosts, '/etc/hosts', '', MS.BIND, '');
  spec.op('mount', p.etcFiles.resolvConf, '/etc/resolv.conf', '', MS.BIND, '');
  appendUserMounts(spec, p.mounts ?? []);
  spec.op('pivot');
  if (!c.privileged) {
    for (const m of MASKED_PATHS) spec.op('mask', m);
    for (const r of READONLY_PATHS) spec.op('readonly', r);
  }
  if (p.cgroup.remountTop) spec.op('remount', '/sys/fs/cgroup', nse | sysRo);
  if (c.readOnly) spec.op('remount', '/', MS.BIND | MS.RDONLY);
  if (ownNet) spec.op('loopback-up');

  appendProcessOps(spec, containerProcess(c, p.security));
  spec.op('args', ...c.args);
  return spec;
}

const PROPAGATION: Record<Propagation, number> = {
  rprivate: MS.REC | MS.PRIVATE,
  private: MS.PRIVATE,
  rshared: MS.REC | MS.SHARED,
  shared: MS.SHARED,
  rslave: MS.REC | MS.SLAVE,
  slave: MS.SLAVE,
};

/**
 * The user's mounts. Binds (and volumes, which are binds of their directory) go through `bind`,
 * which opens the host source without following a symlink and mounts by handle; a volume that is
 * still empty first gets the image's content at its target (`copy-up`, unless nocopy).
 */
function appendUserMounts(spec: HelperSpec, mounts: MountSource[]): void {
  for (const { mount: m, hostPath, driver } of mounts) {
    const ro = m.readOnly ? MS.RDONLY : 0;
    if (m.type === 'tmpfs' || driver?.type === 'tmpfs') {
      const t = tmpfsMountArgs(m.tmpfsOptions ?? driver?.options ?? '', m.target);
      spec.op('mount', 'tmpfs', m.target, 'tmpfs', t.flags | ro, t.data);
      continue;
    }
    const propagation = PROPAGATION[m.propagation ?? 'rprivate'];
    if (driver) {
      const words = driver.options.split(',').filter(Boolean);
      if (driver.type === 'none' && words.some((w) => w === 'bind' || w === 'rbind')) {
        const rec = words.includes('rbind') ? MS.REC : 0;
        spec.op('bind', hostPath, m.target, MS.BIND | rec | ro | (propagation & ~MS.REC) | rec);
      } else {
        spec.op('mount', hostPath, m.target, driver.type, ro, driver.options);
      }
      continue;
    }
    if (m.type === 'volume' && !m.noCopy) spec.op('copy-up', m.target, hostPath);
    spec.op('bind', hostPath, m.target, MS.BIND | (m.nonRecursive ? 0 : MS.REC) | ro | propagation);
  }
}
