// A bundle's config.json (config.ts) as the helper's steps: the namespaces it asks for, its root
// directory bound onto itself, its mounts in its order, devices, sysctls, masked and read-only
// paths, and the process through the same builder as every box container (process-ops.ts). Unlike
// box's own plan (runtime/plan.ts), nothing is added that the config does not ask for, except the
// standard /dev nodes the runtime-spec requires of every runtime. Pure: it only describes.
import * as path from 'node:path';
import type { InitCgroup } from '../linux/cgroups';
import { appendProcessOps } from '../runtime/process-ops';
import { DEV_LINKS, DEVICES, S_IFCHR } from '../runtime/plan';
import type { ProcessSecurity } from '../runtime/security';
import { CLONE, HelperSpec, MS } from '../runtime/spec';
import type { OciConfig, OciMount } from './config';
import { hookOpArgs } from './hooks';
import { SpecFieldError } from './json-fields';

export interface OciPlanInput {
  config: OciConfig;
  bundle: string;
  /** the init's cgroup (the cgroup manager's initCgroup) */
  cgroup: InitCgroup;
  security: ProcessSecurity;
  /** the runtime-spec state its createContainer and startContainer hooks get (their pid: the init's) */
  hookState: { creating: object; created: object };
}

/** The root directory of the bundle's container: root.path, relative to the bundle or absolute. */
export function rootfsOf(config: OciConfig, bundle: string): string {
  return path.resolve(bundle, config.root.path);
}

export function cloneFlags(config: OciConfig): number {
  const ns = config.namespaces;
  return (
    CLONE.NEWNS |
    (ns.has('pid') ? CLONE.NEWPID : 0) |
    (ns.has('uts') ? CLONE.NEWUTS : 0) |
    (ns.has('ipc') ? CLONE.NEWIPC : 0) |
    (ns.has('network') ? CLONE.NEWNET : 0)
  );
}

const isCgroupMount = (m: OciMount) => m.type === 'cgroup' || m.type === 'cgroup2';

export function buildOciSpec(p: OciPlanInput): HelperSpec {
  const c = p.config;
  const spec = new HelperSpec();
  const rootfs = rootfsOf(c, p.bundle);
  spec.op('clone', cloneFlags(c));
  for (const f of p.cgroup.helperWrites) spec.op('cgroup', f);
  for (const f of p.cgroup.selfWrites) spec.op('cgroup-join', f);
  for (const j of c.joined) spec.op('setns', j.type === 'network' ? 'net' : j.type, j.path);
  if (c.namespaces.has('cgroup')) spec.op('cgroupns');
  if (c.process.terminal) spec.op('tty'); // its master goes to the console socket (lifecycle.ts)
  if (c.process.terminal && c.process.consoleSize)
    spec.op('tty-size', c.process.consoleSize.rows, c.process.consoleSize.cols);
  if (c.process.oomScoreAdj !== undefined) spec.op('oom-score-adj', c.process.oomScoreAdj);

  if (c.hostname) spec.op('hostname', c.hostname);
  spec.op('propagation', c.rootfsPropagation);
  spec.op('rootfs', rootfs, '', MS.BIND | MS.REC, '', rootfs);
  const ownNet = c.namespaces.has('network') || c.joined.some((j) => j.type === 'network');
  let awaited = false;
  let devTmpfs = false;
  let cgroupTop = false;
  for (const [i, m] of c.mounts.entries()) {
    if (isCgroupMount(m)) {
      // The cgroup file system must be mounted inside the container's cgroup namespace, once the
      // init is in its cgroup: box's own cgroup mounts, flagged as the config asks.
      if (m.destination !== '/sys/fs/cgroup') {
        throw new SpecFieldError(
          `mounts[${i}].destination`,
          'box mounts the cgroup file system at /sys/fs/cgroup only',
        );
      }
      if (!awaited) spec.op('await-cgroups');
      awaited = true;
      const ro = m.flags & MS.RDONLY;
      for (const cm of p.cgroup.mounts) {
        const flags = MS.NOSUID | MS.NODEV | MS.NOEXEC | (cm.readOnly ? ro : 0);
        spec.op('mount', cm.source, cm.target, cm.fstype, flags, cm.data);
      }
      cgroupTop = p.cgroup.remountTop && ro !== 0;
      continue;
    }
    if (m.destination === '/dev' && m.type === 'tmpfs') devTmpfs = true;
    spec.op('mount', ...mountArgs(m, p.bundle, ownNet));
  }
  if (!awaited) spec.op('await-cgroups');
  if (devTmpfs) {
    // The runtime-spec's default devices and links, on the /dev the config mounted.
    for (const [dev, major, minor] of DEVICES) spec.op('mknod', dev, S_IFCHR | 0o666, major, minor);
    for (const [target, link] of DEV_LINKS) spec.op('symlink', target, link);
  }
  for (const d of c.devices) spec.op('mknod', d.path, d.mode, d.major, d.minor);
  // the runtime-spec's createContainer hooks: in the container's namespaces, before pivot_root
  for (const [i, h] of (c.hooks.createContainer ?? []).entries()) {
    spec.op('hook', ...hookOpArgs(`createContainer[${i}]`, h, p.hookState.creating));
  }
  spec.op('pivot');
  for (const [k, v] of Object.entries(c.sysctl)) spec.op('sysctl', k, v);
  for (const m of c.maskedPaths) spec.op('mask', m);
  for (const r of c.readonlyPaths) spec.op('readonly', r);
  if (cgroupTop) spec.op('remount', '/sys/fs/cgroup', MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY);
  if (c.root.readonly) spec.op('remount', '/', MS.BIND | MS.RDONLY);

  const proc = c.process;
  appendProcessOps(spec, {
    user: proc.user,
    ulimits: proc.rlimits,
    noNewPrivileges: proc.noNewPrivileges,
    security: p.security,
    cwd: proc.cwd,
    env: proc.env,
  });
  spec.op('args', ...proc.args);
  for (const [i, h] of (c.hooks.startContainer ?? []).entries()) {
    spec.op('start-hook', ...hookOpArgs(`startContainer[${i}]`, h, p.hookState.created));
  }
  return spec;
}

/** The helper's `mount` arguments: SRC TARGET FSTYPE FLAGS DATA. */
function mountArgs(m: OciMount, bundle: string, ownNet: boolean): [string, string, string, number, string] {
  const flags = m.flags | m.propagation;
  if (m.bind) return [path.resolve(bundle, m.source), m.destination, '', flags, m.data];
  // sysfs can only be mounted in an own network namespace; without one runc binds the host's.
  if (m.type === 'sysfs' && !ownNet) return ['/sys', m.destination, '', flags | MS.BIND | MS.REC, ''];
  return [m.source || m.type, m.destination, m.type, flags, m.data];
}
