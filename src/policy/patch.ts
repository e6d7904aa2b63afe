// Applying a policy's patch to a container configuration, and re-validating what it changed with
// the checks box makes of the same values given as flags: cgroup limits (syntax of a cpu list,
// minimums, ranges, combinations: checkLimits), ulimit names and soft <= hard, capability names,
// environment variable names. A patch cannot grant anything: it sets limits, drops capabilities,
// makes the root filesystem read-only, sets no-new-privileges, adds env/labels or disconnects the
// network. A patch that fails a check refuses the start (the caller records why).
import { BoxError } from '../errors';
import { CgroupHost, CgroupLimits, checkLimits } from '../linux/cgroups';
import { lookupCapName } from '../linux/capabilities';
import { isRlimitName } from '../linux/rlimits';
import { parseCpuList } from '../util/units';
import type { ContainerConfig, Ulimit } from '../model';
import type { LimitsPatch, PolicyPatch } from './types';

const num = (v: bigint | undefined): number | undefined => (v === undefined ? undefined : Number(v));

const LIMIT_FIELDS: Array<[keyof LimitsPatch & keyof CgroupLimits, string]> = [
  ['memory', 'memory'],
  ['memorySwap', 'memory-swap'],
  ['memoryReservation', 'memory-reservation'],
  ['cpuQuota', 'cpu-quota'],
  ['cpuPeriod', 'cpu-period'],
  ['cpuShares', 'cpu-shares'],
  ['cpusetCpus', 'cpuset-cpus'],
  ['pidsLimit', 'pids-limit'],
];

const capKey = (s: string): string => s.trim().toUpperCase().replace(/^CAP_/, '');

/** Is the patch empty (a policy may return one with nothing in it)? */
export function patchIsEmpty(p: PolicyPatch): boolean {
  const limits = p.limits;
  const limitsEmpty = !limits || (LIMIT_FIELDS.every(([k]) => limits[k] === undefined) && limits.ulimits.length === 0);
  return (
    limitsEmpty &&
    p.dropCapabilities.length === 0 &&
    p.readOnlyMounts.length === 0 &&
    !p.readOnlyRootfs &&
    !p.noNewPrivileges &&
    p.addEnv.length === 0 &&
    p.addLabels.length === 0 &&
    p.network === undefined
  );
}

/**
 * Returns the patched configuration (the input is not modified) and a description of each change,
 * or throws a BoxError naming the policy when the patch is invalid.
 */
export function applyPatch(config: ContainerConfig, patch: PolicyPatch, policy: string, cgroups: CgroupHost): { config: ContainerConfig; changes: string[] } {
  const bad = (why: string): never => {
    throw new BoxError(`policy ${policy} returned an invalid patch: ${why}`);
  };
  const out: ContainerConfig = structuredClone(config);
  const changes: string[] = [];
  if (patch.limits) {
    for (const u of patch.limits.ulimits) {
      if (!isRlimitName(u.name)) bad(`unknown ulimit "${u.name}"`);
      const ulimit: Ulimit = { name: u.name, soft: Number(u.soft), hard: Number(u.hard) };
      if (ulimit.soft !== -1 && ulimit.hard !== -1 && ulimit.soft > ulimit.hard) bad(`ulimit ${u.name}: the soft limit exceeds the hard limit`);
      out.ulimits = [...out.ulimits.filter((x) => x.name !== u.name), ulimit];
      changes.push(`ulimit ${u.name}=${ulimit.soft}:${ulimit.hard}`);
    }
    try {
      for (const [key, name] of LIMIT_FIELDS) {
        const v = patch.limits[key];
        if (v === undefined) continue;
        const value = key === 'cpusetCpus' ? parseCpuList('cpuset-cpus', v as string) : num(v as bigint);
        (out.limits as Record<string, unknown>)[key] = value;
        changes.push(`${name}=${value}`);
      }
      checkLimits(cgroups, out.limits);
    } catch (err) {
      if (err instanceof BoxError) bad(err.message.replace(/^--/, ''));
      throw err;
    }
  }
  for (const cap of patch.dropCapabilities) {
    if (lookupCapName(cap) === undefined) bad(`unknown capability "${cap}"`);
    const key = capKey(cap);
    // --cap-add wins over --cap-drop (Docker's rule), so a dropped capability leaves capAdd too.
    out.capAdd = out.capAdd.filter((c) => capKey(c) !== key);
    if (!out.capDrop.some((c) => capKey(c) === key)) out.capDrop = [...out.capDrop, key];
    changes.push(`drop ${key}`);
  }
  if (patch.dropCapabilities.length && out.privileged) bad('it drops capabilities of a privileged container (deny it instead)');
  // box has no bind mounts yet, so no destination named here can be writable: nothing to change
  // (a policy may name paths defensively, e.g. every well-known data directory).
  if (patch.readOnlyRootfs && !out.readOnly) {
    out.readOnly = true;
    changes.push('read-only root filesystem');
  }
  if (patch.noNewPrivileges && !out.noNewPrivileges) {
    out.noNewPrivileges = true;
    changes.push('no-new-privileges');
  }
  for (const [key, value] of patch.addEnv) {
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) bad(`invalid environment variable name "${key}"`);
    out.env = [...out.env.filter((e) => e.slice(0, e.indexOf('=')) !== key), `${key}=${value}`];
    changes.push(`env ${key}`);
  }
  for (const [key, value] of patch.addLabels) {
    if (key === '') bad('an empty label key');
    out.labels = { ...out.labels, [key]: value };
    changes.push(`label ${key}`);
  }
  if (patch.network === 'disconnect' && out.network !== 'none') {
    out.network = 'none';
    changes.push('network none');
  }
  // 'unpublish-ports': box publishes no ports yet, so there is nothing to remove.
  return { config: out, changes };
}
