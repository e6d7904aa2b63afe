// Turns `box run` flags (RunFlags, declared in run-flags.ts) plus the image's configuration into the
// resolved container configuration. Every check that can fail happens here, before any kernel object exists.
import { BoxError } from '../errors';
import { ImageConfig } from '../image/config';
import { imageProvenance } from '../image/reference';
import { CgroupLimits } from '../linux/cgroups';
import { isRlimitName, RLIMIT_NAMES } from '../linux/rlimits';
import { parseSignal } from '../linux/signals';
import { parseBytes, parseCpuList, parseCpus, parseInteger, parseNonNegativeInt } from '../util/units';
import { readUserText } from '../util/user-file';
import { readImageFile } from './image-files';
import { ContainerConfig, Ulimit } from '../model';
import { parseHealthFlags } from './health';
import { ParsedNetworkFlags, parseNetworkFlags } from '../network/flags';
import { parseRestart } from './restart';
import { RunFlags } from './run-flags';
import { resolveUser } from './users';

/** Docker's own default profile is about 20 KiB; an env file is bounded by what execve takes anyway. */
const SECCOMP_PROFILE_MAX = 1 << 20;
const ENV_FILE_MAX = 4 << 20;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A signal name or number as --stop-signal accepts it, normalised to SIGNAME when named. */
/** A stop signal as box records it ("SIGTERM", "SIGRTMIN+3", "15"), once checked by parseSignal. */
export function checkSignalName(s: string, what = '--stop-signal'): string {
  parseSignal(s, what);
  const t = s.trim().toUpperCase();
  return /^\d+$/.test(t) || t.startsWith('SIG') ? t : `SIG${t}`;
}

export function parseUlimit(value: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (!m || !isRlimitName(m[1])) {
    throw new BoxError(
      `invalid --ulimit "${value}": expected NAME=SOFT[:HARD] with NAME one of ${RLIMIT_NAMES.join(', ')}`,
    );
  }
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft !== -1 && hard !== -1 && soft > hard)
    throw new BoxError(`invalid --ulimit "${value}": the soft limit exceeds the hard limit`);
  return { name: m[1], soft, hard };
}

/** `-e K=V`, `-e K` (taken from box's own environment if set), and --env-file lines. */
export function collectEnv(
  flags: Pick<RunFlags, 'env' | 'envFile'>,
  hostEnv: NodeJS.ProcessEnv = process.env,
): string[] {
  const out: string[] = [];
  const add = (entry: string, origin: string) => {
    if (entry.startsWith('=') || entry === '')
      throw new BoxError(`invalid environment variable "${entry}" (${origin}): expected NAME=VALUE`);
    if (entry.includes('=')) out.push(entry);
    else if (hostEnv[entry] !== undefined) out.push(`${entry}=${hostEnv[entry]}`);
  };
  for (const file of flags.envFile) {
    const hint = 'give a readable file of NAME=VALUE lines';
    const text = readUserText(file, { what: '--env-file', maxBytes: ENV_FILE_MAX, hint });
    text.split('\n').forEach((line, i) => {
      const t = line.replace(/\r$/, '');
      if (t.trim() === '' || t.trimStart().startsWith('#')) return;
      add(t.replace(/^\s+/, ''), `${file}:${i + 1}`);
    });
  }
  for (const e of flags.env) add(e, '-e');
  return out;
}

/** Later entries replace earlier ones with the same name, keeping first-seen order. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists)
    for (const e of list) {
      const k = e.split('=', 1)[0];
      map.delete(k);
      map.set(k, e);
    }
  return [...map.values()];
}

export function parseLimits(flags: RunFlags): CgroupLimits {
  const limits: CgroupLimits = {};
  if (flags.memory !== undefined) limits.memory = parseBytes('--memory', flags.memory);
  if (flags.memorySwap !== undefined)
    limits.memorySwap = flags.memorySwap === '-1' ? -1 : parseBytes('--memory-swap', flags.memorySwap);
  if (flags.memoryReservation !== undefined)
    limits.memoryReservation = parseBytes('--memory-reservation', flags.memoryReservation);
  if (flags.cpus !== undefined) {
    if (flags.cpuQuota !== undefined || flags.cpuPeriod !== undefined)
      throw new BoxError('--cpus cannot be combined with --cpu-period/--cpu-quota: use one or the other');
    const cpus = parseCpus('--cpus', flags.cpus);
    limits.cpuPeriod = 100000;
    limits.cpuQuota = Math.round(cpus * 100000);
  }
  if (flags.cpuPeriod !== undefined) limits.cpuPeriod = parseNonNegativeInt('--cpu-period', flags.cpuPeriod);
  if (flags.cpuQuota !== undefined) limits.cpuQuota = parseInteger('--cpu-quota', flags.cpuQuota);
  if (flags.cpuShares !== undefined) limits.cpuShares = parseNonNegativeInt('--cpu-shares', flags.cpuShares);
  if (flags.cpusetCpus !== undefined) limits.cpusetCpus = parseCpuList('--cpuset-cpus', flags.cpusetCpus);
  if (flags.pidsLimit !== undefined) limits.pidsLimit = parseInteger('--pids-limit', flags.pidsLimit);
  return limits;
}

interface SecurityOpts {
  noNewPrivileges: boolean;
  seccomp: string;
  seccompProfile?: string;
}

export function parseSecurityOpts(opts: string[]): SecurityOpts {
  // box turns no_new_privs on by default: a setuid binary in an image cannot regain privileges.
  const out: SecurityOpts = { noNewPrivileges: true, seccomp: 'default' };
  for (const opt of opts) {
    const [key, value] = opt.includes('=')
      ? [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)]
      : opt.split(':', 2);
    if (key === 'no-new-privileges') {
      if (value === undefined || value === 'true') out.noNewPrivileges = true;
      else if (value === 'false') out.noNewPrivileges = false;
      else throw new BoxError(`invalid --security-opt "${opt}": no-new-privileges takes true or false`);
    } else if (key === 'seccomp') {
      if (!value) throw new BoxError(`invalid --security-opt "${opt}": use seccomp=unconfined or seccomp=PROFILE.json`);
      if (value === 'unconfined') out.seccomp = 'unconfined';
      else {
        out.seccompProfile = readUserText(value, {
          what: 'seccomp profile',
          maxBytes: SECCOMP_PROFILE_MAX,
          hint: 'give the path of a Docker-format JSON profile',
        });
        out.seccomp = value;
      }
    } else if (key === 'label' || key === 'apparmor') {
      // Accepted for compatibility: this host offers neither SELinux nor AppArmor confinement to box.
    } else {
      throw new BoxError(
        `invalid --security-opt "${opt}": box supports no-new-privileges, seccomp=unconfined and seccomp=PROFILE.json`,
      );
    }
  }
  return out;
}

function parseLabels(labels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** Docker's rules for combining --entrypoint, the command, and the image's Entrypoint/Cmd. */
export function resolveArgs(
  image: ImageConfig['config'],
  entrypointFlag: string | undefined,
  command: string[],
): { entrypoint: string[]; cmd: string[] } {
  let entrypoint = image?.Entrypoint ?? [];
  let cmd = command.length ? command : (image?.Cmd ?? []);
  if (entrypointFlag !== undefined) {
    entrypoint = entrypointFlag === '' ? [] : [entrypointFlag];
    if (!command.length) cmd = []; // a new entrypoint drops the image's Cmd, as in Docker
  }
  return { entrypoint, cmd };
}

/** What the flags say on their own, checked without the image (so before it is looked up or pulled). */
export interface ParsedRunFlags {
  network: ParsedNetworkFlags;
  security: SecurityOpts;
  limits: CgroupLimits;
  ulimits: Ulimit[];
  /** -e and --env-file entries */
  env: string[];
  restart: ReturnType<typeof parseRestart>;
  healthcheck: ReturnType<typeof parseHealthFlags>;
  stopSignal?: string;
}

/**
 * Parses and checks every flag whose meaning does not depend on the image. `image` gives the
 * image's defaults for the health check; without it only the flags are checked.
 */
export function parseRunFlags(flags: RunFlags, image: ImageConfig['config'] = {}): ParsedRunFlags {
  const network = parseNetworkFlags(flags);
  if (flags.hostname !== undefined) checkHostname(flags.hostname);
  if (flags.workdir !== undefined) checkWorkingDir(flags.workdir);
  return {
    network,
    security: parseSecurityOpts(flags.securityOpt),
    limits: parseLimits(flags),
    ulimits: flags.ulimit.map(parseUlimit),
    env: collectEnv(flags),
    restart: parseRestart(flags.restart, flags.restartDelay),
    healthcheck: parseHealthFlags(flags, image ?? {}),
    stopSignal: flags.stopSignal !== undefined ? checkSignalName(flags.stopSignal) : undefined,
  };
}

function checkHostname(hostname: string): void {
  if (hostname && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(hostname)) {
    throw new BoxError(`invalid hostname "${hostname}": use up to 63 letters, digits, '-' and '.'`);
  }
}

function checkWorkingDir(dir: string): void {
  if (!dir.startsWith('/')) throw new BoxError(`invalid working directory "${dir}": it must be an absolute path`);
}

export function resolveContainerConfig(
  flags: RunFlags,
  image: { ref: string; id: string; config: ImageConfig; lowerDirs: string[]; tags?: string[]; repoDigests?: string[] },
  command: string[],
  id: string,
): ContainerConfig {
  const ic = image.config.config ?? {};
  const parsed = parseRunFlags(flags, ic);
  const { entrypoint, cmd } = resolveArgs(ic, flags.entrypoint, command);
  const args = [...entrypoint, ...cmd];
  if (!args.length)
    throw new BoxError(
      'no command specified: give a command after the image name, or use an image with a Cmd or Entrypoint',
    );
  const userSpec = flags.user ?? ic.User ?? '';
  const user = resolveUser(
    userSpec,
    readImageFile(image.lowerDirs, '/etc/passwd'),
    readImageFile(image.lowerDirs, '/etc/group'),
  );
  const hostname = flags.hostname ?? id.slice(0, 12);
  const baseEnv = ic.Env ?? [];
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  const env = mergeEnv(
    defaults,
    baseEnv,
    [`HOME=${user.home}`].filter(() => !baseEnv.some((e) => e.startsWith('HOME='))),
    flags.tty ? ['TERM=xterm'] : [],
    parsed.env,
  );
  const workingDir = flags.workdir ?? (ic.WorkingDir || '/');
  checkWorkingDir(workingDir);
  return {
    image: {
      ref: image.ref,
      id: image.id,
      ...imageProvenance(image.ref, { id: image.id, tags: image.tags ?? [], repoDigests: image.repoDigests ?? [] }),
      config: ic,
    },
    layers: image.config.rootfs.diff_ids,
    hostname,
    args,
    entrypoint,
    cmd,
    env,
    workingDir,
    user: { spec: userSpec, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    tty: flags.tty,
    openStdin: flags.interactive,
    network: parsed.network.mode,
    // filled by createRecord from the network store (network/flags.ts endpointsFor)
    networks: [],
    ...(parsed.network.dns ? { dns: parsed.network.dns } : {}),
    ...(parsed.network.extraHosts.length ? { extraHosts: parsed.network.extraHosts } : {}),
    readOnly: flags.readOnly,
    init: flags.init,
    privileged: flags.privileged,
    capAdd: flags.capAdd,
    capDrop: flags.capDrop,
    noNewPrivileges: parsed.security.noNewPrivileges,
    seccomp:
      flags.privileged && !flags.securityOpt.some((o) => o.startsWith('seccomp'))
        ? 'unconfined'
        : parsed.security.seccomp,
    seccompProfile: parsed.security.seccompProfile,
    ulimits: parsed.ulimits,
    limits: parsed.limits,
    labels: { ...(ic.Labels ?? {}), ...parseLabels(flags.label) },
    restart: parsed.restart,
    healthcheck: parsed.healthcheck,
    stopSignal:
      parsed.stopSignal ??
      (ic.StopSignal === undefined ? undefined : checkSignalName(ic.StopSignal, "image's StopSignal")),
  };
}
