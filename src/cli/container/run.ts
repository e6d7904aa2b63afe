// `box run [OPTIONS] IMAGE [COMMAND [ARG...]]` with Docker's flag names.
import { BoxError } from '../../errors';
import { runDetached } from '../../runtime/detach';
import { parseLogOpts } from '../../runtime/log-options';
import { runForeground } from '../../runtime/run';
import { checkRequest, CreateRequest } from '../../runtime/create';
import { parsePullMode, pullFirst } from '../../runtime/pull-first';
import { admissionFlagsFrom, RUN_FLAGS, runFlagsFrom } from '../../runtime/run-flags';
import { parseTlsVerify } from '../../image/registry/tls-flag';
import { CommandSpec, ParsedArgs } from '../args';
import { roots } from '../context';
import { writeStderr } from '../../util/stderr';

export { parseLogOpts };

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
      if (flags.rm)
        throw new BoxError('conflicting options: --restart and --rm (a removed container cannot be restarted)');
      if (!flags.detach) throw new BoxError('--restart applies to detached containers: add -d');
    }
    const log = parseLogOpts(flags.logOpt);
    const pulled = await pullFirst(req, pullMode, pullWithProgress(parseTlsVerify(flags.tlsVerify)));
    if (pulled !== 0) return pulled;
    return flags.detach ? runDetached(req, log) : runForeground(req, log);
  },
};

/**
 * The pull of `--pull`, as `box pull` does it but with its progress on stderr (stdout is the
 * container's, or its id with -d).
 */
export function pullWithProgress(tlsVerify: boolean | undefined) {
  return async (image: string, why: 'missing' | 'always'): Promise<number> => {
    if (why === 'missing') process.stderr.write(`Unable to find image '${image}' locally\n`);
    const { pullCommand } = require('../image/pull') as typeof import('../image/pull');
    return pullCommand(roots(), image, { out: process.stderr, tlsVerify });
  };
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
    admission: admissionFlagsFrom(a.flags),
    warn: (msg: string) => writeStderr(`box: ${msg}\n`),
  };
}
