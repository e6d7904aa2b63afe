// Applying a policy's patch to a container configuration, and re-validating what it changed with
// the checks box makes of the same values given as flags: cgroup limits (syntax of a cpu list,
// minimums, ranges, combinations: checkLimits), ulimit names and soft <= hard, capability names,
// environment variable names. A patch cannot grant anything: it lowers limits (never raises them:
// tighten.ts), drops capabilities, makes the root filesystem read-only, sets no-new-privileges,
// adds env/labels or disconnects the network. Env it adds never replaces a variable the container
// already has (from the image or the user: that one keeps its value) and never names one that
// changes how programs are found, loaded or started (PATH, LD_*...: refused). A label it sets
// replaces the user's, reported (an admission controller's stamp must not be forgeable). A patch
// that fails a check refuses the start (the caller records why).
import { BoxError } from '../errors';
import { CgroupHost, CgroupLimits, checkLimits } from '../linux/cgroups';
import { lookupCapName } from '../linux/capabilities';
import { isRlimitName } from '../linux/rlimits';
import { useFeature } from '../util/code-cache';
import { parseCpuList } from '../util/units';
import type { ContainerConfig, Ulimit } from '../model';
import { loosenedLimits } from './tighten';
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

/**
 * Environment variables a patch may not set: they change which program runs or what it loads
 * (the dynamic loader's, glibc's "unsecure" variables, shells' and interpreters' start-up hooks).
 */
const LOADER_ENV = new Set([
  'PATH',
  'IFS',
  'ENV',
  'BASH_ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'GCONV_PATH',
  'GETCONF_DIR',
  'GLIBC_TUNABLES',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TMPDIR',
  'TZDIR',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'RUBYLIB',
  'RUBYOPT',
  'NODE_OPTIONS',
  'NODE_PATH',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
]);
const LOADER_ENV_PREFIXES = ['LD_', 'MALLOC_', 'BASH_FUNC_'];

export function isLoaderEnv(name: string): boolean {
  return LOADER_ENV.has(name) || LOADER_ENV_PREFIXES.some((p) => name.startsWith(p));
}

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

export interface PatchResult {
  config: ContainerConfig;
  /** a description of each change, in order */
  changes: string[];
  /** those of the changes that replaced a value set before, by the user or an earlier policy (a label) */
  replaced: string[];
}

/**
 * Returns the patched configuration (the input is not modified) and a description of each change,
 * or throws a BoxError naming the policy when the patch is invalid.
 */
export function applyPatch(
  config: ContainerConfig,
  patch: PolicyPatch,
  policy: string,
  cgroups: CgroupHost,
): PatchResult {
  // The code that applies, lifts and reports a patch is its own part of the command's code cache:
  // a cache written by a start whose policies patched nothing (baseline with the limits given)
  // left it out, and every start with strict compiled it again (~0.25 ms of CPU, 2026-12-05).
  useFeature('policy-patch');
  const bad = (why: string): never => {
    throw new BoxError(`policy ${policy} returned an invalid patch: ${why}`);
  };
  // Every change below gives `out` a new value of the field (a new array or object), except the
  // limits, copied here: the input stays as it was without cloning all of it (structuredClone of
  // a whole configuration cost ~0.04 ms of a start's CPU, measured 2026-12-05 on the 2-core VM).
  const out: ContainerConfig = { ...config, limits: { ...config.limits } };
  const changes: string[] = [];
  const replaced: string[] = [];
  if (patch.limits) {
    for (const u of patch.limits.ulimits) {
      if (!isRlimitName(u.name)) bad(`unknown ulimit "${u.name}"`);
      const ulimit: Ulimit = { name: u.name, soft: Number(u.soft), hard: Number(u.hard) };
      if (ulimit.soft !== -1 && ulimit.hard !== -1 && ulimit.soft > ulimit.hard)
        bad(`ulimit ${u.name}: the soft limit exceeds the hard limit`);
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
    const loosened = loosenedLimits(config, out);
    if (loosened.length) bad(`it raises ${loosened.join(', ')} (a patch may only tighten limits)`);
  }
  for (const cap of patch.dropCapabilities) {
    if (lookupCapName(cap) === undefined) bad(`unknown capability "${cap}"`);
    const key = capKey(cap);
    // --cap-add wins over --cap-drop (Docker's rule), so a dropped capability leaves capAdd too.
    out.capAdd = out.capAdd.filter((c) => capKey(c) !== key);
    if (!out.capDrop.some((c) => capKey(c) === key)) out.capDrop = [...out.capDrop, key];
    changes.push(`drop ${key}`);
  }
  if (patch.dropCapabilities.length && out.privileged)
    bad('it drops capabilities of a privileged container (deny it instead)');
  // A destination no mount has is left alone: a policy may name paths defensively.
  for (const destination of patch.readOnlyMounts) {
    const at = (out.mounts ?? []).findIndex((m) => m.target === destination.replace(/(.)\/+$/, '$1'));
    if (at < 0 || out.mounts![at].readOnly) continue;
    out.mounts = out.mounts!.map((m, i) => (i === at ? { ...m, readOnly: true } : m));
    changes.push(`read-only mount ${out.mounts[at].target}`);
  }
  if (patch.readOnlyRootfs && !out.readOnly) {
    out.readOnly = true;
    changes.push('read-only root filesystem');
  }
  if (patch.noNewPrivileges && !out.noNewPrivileges) {
    out.noNewPrivileges = true;
    changes.push('no-new-privileges');
  }
  const envNames = new Set(config.env.map((e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('='))));
  for (const [key, value] of patch.addEnv) {
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0'))
      bad(`invalid environment variable name "${key}"`);
    if (isLoaderEnv(key)) bad(`it sets ${key}, which changes what programs run or load (a patch may not set it)`);
    if (envNames.has(key)) {
      changes.push(`env ${key} kept (already set)`);
      continue;
    }
    out.env = [...out.env.filter((e) => e.slice(0, e.indexOf('=')) !== key), `${key}=${value}`];
    changes.push(`env ${key}`);
  }
  // A label the policy sets wins over the user's (a label an admission controller stamps must not
  // be forgeable by the user), but never silently: the replaced value is in the changes (audited,
  // shown by inspect) and in `replaced`, which the caller prints as a warning.
  for (const [key, value] of patch.addLabels) {
    if (key === '') bad('an empty label key');
    const had = out.labels?.[key];
    out.labels = { ...out.labels, [key]: value };
    if (had === undefined || had === value) {
      changes.push(`label ${key}`);
      continue;
    }
    const change = `label ${key} replaced (was ${JSON.stringify(cut(had))})`;
    changes.push(change);
    replaced.push(change);
  }
  if (patch.network === 'disconnect' && out.network !== 'none') {
    out.network = 'none';
    out.networks = [];
    changes.push('network none');
  }
  if ((patch.network === 'unpublish-ports' || patch.network === 'disconnect') && out.ports?.length) {
    out.ports = [];
    out.portBindings = [];
    changes.push('ports unpublished');
  }
  return { config: out, changes, replaced };
}

/** A replaced value as the changes quote it: its first 100 characters. */
function cut(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}...` : value;
}
