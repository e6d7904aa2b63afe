// `box create`: a container's record from `run`'s flags, to be started later by `box start`.
import { checkRequest, createRecord } from '../../runtime/create';
import { parseTlsVerify } from '../../image/registry/tls-flag';
import { RUN_FLAGS } from '../../runtime/run-flags';
import { parsePullMode, pullFirst } from '../../runtime/pull-first';
import { CommandSpec } from '../args';
import { parseLogOpts, pullWithProgress, requestFrom } from './run';

export const createCommand: CommandSpec = {
  paths: [['create'], ['container', 'create']],
  summary: 'Create a container without starting it (start it with box start).',
  flags: RUN_FLAGS.filter((f) => f.key !== 'detach'),
  positionals: [{ name: 'IMAGE' }],
  stopAfterPositionals: true,
  async run(a) {
    const req = requestFrom(a);
    checkRequest(req);
    const pullMode = parsePullMode(req.flags.pull);
    // as Docker's create -i: start -ai ends its input
    req.recordConfig = { log: parseLogOpts(req.flags.logOpt), stdinOnce: req.flags.interactive };
    const pulled = await pullFirst(req, pullMode, pullWithProgress(parseTlsVerify(req.flags.tlsVerify)));
    if (pulled !== 0) return pulled;
    const { record } = await createRecord(req);
    process.stdout.write(record.id + '\n');
    return 0;
  },
};
