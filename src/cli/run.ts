// `box run [OPTIONS] IMAGE [COMMAND [ARG...]]` with Docker's flag names.
import { BoxError } from '../errors';
import { storeLock } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { LogOptions, runDetached } from '../runtime/detach';
import { runForeground } from '../runtime/run';
import { parseBytes, parseNonNegativeInt } from '../util/units';
import { checkRequest, CreateRequest } from '../runtime/create';
import { bool, CommandSpec, FlagSpec, list, ParsedArgs, str } from './args';
import { roots } from './context';
import { TLS_FLAG, tlsFlag } from './tls-flag';
import { writeStderr } from '../util/stderr';

const s = (names: string[], key: string, description: string, value = 'string'): FlagSpec => ({ names, key, kind: 'string', description, value });
const b = (names: string[], key: string, description: string): FlagSpec => ({ names, key, kind: 'bool', description });
const l = (names: string[], key: string, description: string, value = 'string'): FlagSpec => ({ names, key, kind: 'list', description, value });

export const RUN_FLAGS: FlagSpec[] = [
  s(['--name'], 'name', 'assign a name to the container'),
  s(['--hostname', '-h'], 'hostname', 'container host name'),
  l(['--env', '-e'], 'env', "set an environment variable (NAME=VALUE, or NAME to pass box's own)", 'NAME=VALUE'),
  l(['--env-file'], 'envFile', 'read environment variables from a file', 'file'),
  s(['--workdir', '-w'], 'workdir', 'working directory inside the container', 'dir'),
  s(['--user', '-u'], 'user', 'user[:group], names or numbers', 'user'),
  s(['--entrypoint'], 'entrypoint', "override the image's entrypoint", 'cmd'),
  b(['--tty', '-t'], 'tty', 'allocate a pseudo-terminal'),
  b(['--interactive', '-i'], 'interactive', 'keep standard input open'),
  s(['--network', '--net'], 'network', 'none (default) or host', 'mode'),
  b(['--read-only'], 'readOnly', 'mount the root filesystem read-only'),
  b(['--init'], 'init', 'run an init as PID 1 that forwards signals and reaps zombies'),
  b(['--privileged'], 'privileged', 'give the container all capabilities and no confinement'),
  l(['--cap-add'], 'capAdd', 'add a Linux capability', 'cap'),
  l(['--cap-drop'], 'capDrop', 'drop a Linux capability', 'cap'),
  l(['--security-opt'], 'securityOpt', 'no-new-privileges[=false], seccomp=unconfined or seccomp=PROFILE.json', 'opt'),
  l(['--ulimit'], 'ulimit', 'resource limit NAME=SOFT[:HARD]', 'limit'),
  s(['--memory', '-m'], 'memory', 'memory limit (e.g. 256m)', 'bytes'),
  s(['--memory-swap'], 'memorySwap', 'memory plus swap limit, -1 for unlimited swap', 'bytes'),
  s(['--memory-reservation'], 'memoryReservation', 'memory soft limit', 'bytes'),
  s(['--cpus'], 'cpus', 'number of CPUs (e.g. 1.5)', 'n'),
  s(['--cpu-shares', '-c'], 'cpuShares', 'CPU shares (relative weight)', 'n'),
  s(['--cpu-period'], 'cpuPeriod', 'CFS period in microseconds', 'us'),
  s(['--cpu-quota'], 'cpuQuota', 'CFS quota in microseconds', 'us'),
  s(['--cpuset-cpus'], 'cpusetCpus', 'CPUs allowed (e.g. 0-1)', 'list'),
  s(['--pids-limit'], 'pidsLimit', 'maximum number of processes (-1 for unlimited)', 'n'),
  l(['--label', '-l'], 'label', 'set a metadata label', 'KEY=VALUE'),
  b(['--rm'], 'rm', 'remove the container when it exits'),
  s(['--health-cmd'], 'healthCmd', 'command to run to check health (run with /bin/sh -c in the container)', 'cmd'),
  s(['--health-interval'], 'healthInterval', 'time between running the check (default 30s)', 'duration'),
  s(['--health-timeout'], 'healthTimeout', 'maximum time to allow one check to run (default 30s)', 'duration'),
  s(['--health-retries'], 'healthRetries', 'consecutive failures needed to report unhealthy (default 3)', 'n'),
  s(['--health-start-period'], 'healthStartPeriod', 'start period for the container to initialize before failures count (default 0s)', 'duration'),
  s(['--health-start-interval'], 'healthStartInterval', 'time between running the check during the start period (default 5s)', 'duration'),
  b(['--no-healthcheck'], 'noHealthcheck', 'disable any container-specified HEALTHCHECK'),
  s(['--health-on-failure'], 'healthOnFailure', 'action when the container becomes unhealthy: none (default), kill, restart, stop', 'action'),
  b(['--detach', '-d'], 'detach', 'run in the background and print the container id'),
  s(['--stop-signal'], 'stopSignal', "signal that stop sends first (default: the image's, else SIGTERM)", 'signal'),
  s(['--restart'], 'restart', 'restart policy of a detached container: no, on-failure[:N], always, unless-stopped', 'policy'),
  s(['--restart-delay'], 'restartDelay', 'restart back-off: first delay, maximum, reset after (default 100ms,1m,10s)', 'base[,max[,reset]]'),
  l(['--log-opt'], 'logOpt', 'log option for a detached container: max-size=SIZE, max-file=N', 'opt'),
  s(['--pull'], 'pull', 'pull the image: missing (default: when it is not in the store), always, never', 'policy'),
  TLS_FLAG,
  l(['--policy'], 'policy', 'admission policy: a built-in (baseline, strict, capacity) or a .wasm component, optionally :warn or :audit', 'ref'),
  l(['--policy-arg'], 'policyArg', 'argument for the policies', 'KEY=VALUE'),
  s(['--policy-timeout'], 'policyTimeout', 'time limit of one policy evaluation (default 250ms)', 'duration'),
  s(['--policy-failure'], 'policyFailure', 'deny (default): a failing policy refuses the start; ignore: it only warns', 'mode'),
  b(['--no-default-policies'], 'noDefaultPolicies', 'skip the policies of /etc/box/policies.d, <root>/policies.d and $BOX_POLICY (root only)'),
];

export const runCommand: CommandSpec = {
  paths: [['run'], ['container', 'run']],
  summary: 'Run a command in a new container, in the foreground, and exit with its exit code.',
  flags: RUN_FLAGS,
  positionals: [{ name: 'IMAGE' }],
  stopAfterPositionals: true,
  examples: ['box run -it --rm busybox sh', 'box run --rm --memory 64m --pids-limit 50 busybox echo hello'],
  async run(a) {
    const req = requestFrom(a);
    checkRequest(req);
    const pullMode = parsePullMode(str(a, 'pull'));
    const restart = str(a, 'restart');
    if (restart !== undefined && restart !== 'no') {
      if (bool(a, 'rm')) throw new BoxError('conflicting options: --restart and --rm (a removed container cannot be restarted)');
      if (!bool(a, 'detach')) throw new BoxError('--restart applies to detached containers: add -d');
    }
    const log = bool(a, 'detach') ? parseLogOpts(list(a, 'logOpt')) : undefined;
    if (!log && list(a, 'logOpt').length) throw new BoxError('--log-opt applies to detached containers (-d) only');
    const pulled = await pullFirst(req, pullMode, tlsFlag(a));
    if (pulled !== 0) return pulled;
    return log ? runDetached(req, log) : runForeground(req);
  },
};

export type PullMode = 'missing' | 'always' | 'never';

export function parsePullMode(value = 'missing'): PullMode {
  if (value !== 'missing' && value !== 'always' && value !== 'never') throw new BoxError(`invalid --pull "${value}": use missing, always or never`);
  return value;
}

/**
 * `--pull missing|always|never`, as Docker: pulls the image before creating the container (the
 * progress goes to stderr). Returns 0, or the exit status of a pull that did not complete. On 0
 * the store's lock is held shared in req.storeLock, from before the pull until createRecord has
 * recorded the container, so garbage collection cannot remove the image in between.
 */
export async function pullFirst(req: CreateRequest, mode: PullMode, tlsVerify?: boolean): Promise<number> {
  if (mode === 'never') return 0;
  const lock = await storeLock(req.roots, 'shared');
  try {
    const status = await pullIfWanted(req, mode, tlsVerify);
    if (status === 0) req.storeLock = lock;
    return status;
  } finally {
    if (req.storeLock !== lock) lock.release();
  }
}

async function pullIfWanted(req: CreateRequest, mode: 'missing' | 'always', tlsVerify: boolean | undefined): Promise<number> {
  if (mode === 'missing') {
    if (new ImageStore(req.roots).resolve(req.image)) return 0;
    process.stderr.write(`Unable to find image '${req.image}' locally\n`);
  }
  const { pullCommand } = require('./pull') as typeof import('./pull');
  return pullCommand(req.roots, req.image, { out: process.stderr, tlsVerify });
}

/**
 * The creation request described by `run`/`create` flags (both take the same ones). Callers check
 * it (checkRequest) before pulling: root first, then every value.
 */
export function requestFrom(a: ParsedArgs): CreateRequest {
  return {
    roots: roots(),
    image: a.positionals[0],
    command: a.rest,
    flags: {
      name: str(a, 'name'),
      hostname: str(a, 'hostname'),
      env: list(a, 'env'),
      envFile: list(a, 'envFile'),
      workdir: str(a, 'workdir'),
      user: str(a, 'user'),
      entrypoint: str(a, 'entrypoint'),
      tty: bool(a, 'tty'),
      interactive: bool(a, 'interactive'),
      network: str(a, 'network'),
      readOnly: bool(a, 'readOnly'),
      init: bool(a, 'init'),
      privileged: bool(a, 'privileged'),
      capAdd: list(a, 'capAdd'),
      capDrop: list(a, 'capDrop'),
      securityOpt: list(a, 'securityOpt'),
      ulimit: list(a, 'ulimit'),
      memory: str(a, 'memory'),
      memorySwap: str(a, 'memorySwap'),
      memoryReservation: str(a, 'memoryReservation'),
      cpus: str(a, 'cpus'),
      cpuShares: str(a, 'cpuShares'),
      cpuPeriod: str(a, 'cpuPeriod'),
      cpuQuota: str(a, 'cpuQuota'),
      cpusetCpus: str(a, 'cpusetCpus'),
      pidsLimit: str(a, 'pidsLimit'),
      label: list(a, 'label'),
      rm: bool(a, 'rm'),
      restart: str(a, 'restart'),
      stopSignal: str(a, 'stopSignal'),
      healthFlags: a.flags,
      restartDelay: str(a, 'restartDelay'),
    },
    admission: {
      policies: list(a, 'policy'),
      args: list(a, 'policyArg'),
      timeout: str(a, 'policyTimeout'),
      failure: str(a, 'policyFailure'),
      noDefaults: bool(a, 'noDefaultPolicies'),
    },
    warn: (msg: string) => writeStderr(`box: ${msg}\n`),
  };
}

/** Docker's json-file options: max-size (default unlimited) and max-file (default 1). */
export function parseLogOpts(opts: string[]): LogOptions {
  const out: LogOptions = { maxSize: 0, maxFile: 1 };
  for (const o of opts) {
    const [k, v] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (k === 'max-size') out.maxSize = parseBytes('--log-opt max-size', v);
    else if (k === 'max-file') out.maxFile = Math.max(1, parseNonNegativeInt('--log-opt max-file', v));
    else throw new BoxError(`invalid --log-opt "${o}": box supports max-size=SIZE and max-file=N`);
  }
  return out;
}
