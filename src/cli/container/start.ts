// `box start` and `box restart`: a created or stopped container's record is started again (detached,
// or attached to its output or terminal with -a/-i).
import { BoxError } from '../../errors';
import { parseDetachKeys } from '../../runtime/attach';
import { ContainerStore } from '../../runtime/containers';
import { appendEvent } from '../../runtime/events';
import { startAttached, startExisting } from '../../runtime/detach';
import { find, stopContainer } from '../../runtime/lifecycle';
import { attachToLog } from '../../runtime/follow-log';
import { logEnd } from '../../runtime/logs';
import { logFile } from '../../runtime/monitor-state';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { STOP_TIME_FLAG, stopTimeout } from './common';
import { DETACH_KEYS_FLAG, attachThrough, attachable, connectRunning, printEntries } from './attach';

const warn = (msg: string) => process.stderr.write(`box: ${msg}\n`);

export const startCommand: CommandSpec = {
  paths: [['start'], ['container', 'start']],
  summary: 'Start created or stopped containers (detached; -a attaches to the output and waits, -i also to the input).',
  flags: [
    {
      names: ['--attach', '-a'],
      key: 'attach',
      kind: 'bool',
      description: "attach to the container's output and exit with its exit code",
    },
    {
      names: ['--interactive', '-i'],
      key: 'interactive',
      kind: 'bool',
      description: "attach to the container's input too (a container created with -i)",
    },
    DETACH_KEYS_FLAG,
  ],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const attach = bool(a, 'attach') || bool(a, 'interactive');
    if (attach && a.positionals.length > 1) throw new BoxError('start -a and -i take one container');
    const detachKeys = str(a, 'detachKeys');
    if (detachKeys !== undefined) parseDetachKeys(detachKeys);
    const store = new ContainerStore(roots());
    let code = 0;
    for (const q of a.positionals) {
      const c = find(store, q);
      if (attach && attachable(c)) {
        const { code: started, socket } = await startAttached(roots(), store, c, warn);
        if (started !== 0) return started;
        const sock = socket ?? (await connectRunning(store, c));
        return attachThrough(store, c, sock, bool(a, 'interactive'), detachKeys);
      }
      const before = logEnd(logFile(store.dir(c.id))); // a quick container may be done before we attach
      const started = await startExisting(roots(), store, c, warn);
      if (started !== 0) {
        code = started;
        continue;
      }
      if (attach) return attachToLog(roots(), store, c, printEntries, before);
      process.stdout.write(q + '\n');
    }
    return code;
  },
};

export const restartCommand: CommandSpec = {
  paths: [['restart'], ['container', 'restart']],
  summary: 'Stop (stop signal, then SIGKILL after the timeout) and start containers again.',
  flags: [STOP_TIME_FLAG],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const timeout = stopTimeout(a);
    const store = new ContainerStore(roots());
    for (const q of a.positionals) {
      await stopContainer(roots(), store, find(store, q), timeout);
      const code = await startExisting(roots(), store, find(store, q), warn);
      if (code !== 0) return code;
      appendEvent(roots(), 'restart', find(store, q));
      process.stdout.write(q + '\n');
    }
    return 0;
  },
};
