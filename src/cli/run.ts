// `box run [OPTIONS] IMAGE [COMMAND [ARG...]]` with Docker's flag names.
import { BoxError } from '../errors';
import { storeLock } from '../image/locks';
import { ImageStore } from '../image/store';
import { LogOptions, runDetached } from '../runtime/detach';
import { runForeground } from '../runtime/run';
import { parseBytes, parseNonNegativeInt } from '../util/units';
import { checkRequest, CreateRequest } from '../runtime/create';
import { RUN_FLAGS, runFlagsFrom } from '../runtime/run-flags';
import { parseTlsVerify } from '../image/registry/tls-flag';
import { CommandSpec, ParsedArgs } from './args';
import { roots } from './context';
import { writeStderr } from '../util/stderr';

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
    const { flags } = req;
    const pullMode = parsePullMode(flags.pull);
    if (flags.restart !== undefined && flags.restart !== 'no') {
      if (flags.rm) throw new BoxError('conflicting options: --restart and --rm (a removed container cannot be restarted)');
      if (!flags.detach) throw new BoxError('--restart applies to detached containers: add -d');
    }
    const log = flags.detach ? parseLogOpts(flags.logOpt) : undefined;
    if (!log && flags.logOpt.length) throw new BoxError('--log-opt applies to detached containers (-d) only');
    const pulled = await pullFirst(req, pullMode, parseTlsVerify(flags.tlsVerify));
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
  const flags = runFlagsFrom(a.flags);
  return {
    roots: roots(),
    image: a.positionals[0],
    command: a.rest,
    flags,
    admission: {
      policies: flags.policy,
      args: flags.policyArg,
      timeout: flags.policyTimeout,
      failure: flags.policyFailure,
      noDefaults: flags.noDefaultPolicies,
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
