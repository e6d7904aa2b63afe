// create, start, restart and attach: a container's record exists independently of its runs.
import type { Socket } from 'node:net';
import { BoxError } from '../../errors';
import { attachSession, attachSocketPath, connectAttach, DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../runtime/attach';
import { ContainerStore } from '../../runtime/containers';
import { checkRequest, createRecord } from '../../runtime/create';
import { appendEvent } from '../../runtime/events';
import { startAttached, startExisting } from '../../runtime/detach';
import { find, refresh, signalContainer, stopContainer, waitFinalized } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { parseTlsVerify } from '../../image/registry/tls-flag';
import { RUN_FLAGS } from '../../runtime/run-flags';
import { parsePullMode, pullFirst } from '../../runtime/pull-first';
import { attachToLog } from '../../runtime/follow-log';
import { logEnd, LogEntry } from '../../runtime/logs';
import { logFile } from '../../runtime/monitor-state';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { printLogEntries } from './stop';
import { parseLogOpts, pullWithProgress, requestFrom } from './run';

const warn = (msg: string) => process.stderr.write(`box: ${msg}\n`);

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
    const log = parseLogOpts(req.flags.logOpt);
    const pulled = await pullFirst(req, pullMode, pullWithProgress(parseTlsVerify(req.flags.tlsVerify)));
    if (pulled !== 0) return pulled;
    const { containers, record } = await createRecord(req);
    record.config.log = log;
    record.config.stdinOnce = req.flags.interactive; // as Docker's create -i: start -ai ends its input
    containers.save(record);
    process.stdout.write(record.id + '\n');
    return 0;
  },
};

const printEntries = (entries: LogEntry[]) => printLogEntries(entries, false);

/** A container created with -t or -i is attached through its monitor's socket (PROTOCOL.md). */
const attachable = (c: ContainerRecord) => c.config.tty || c.config.openStdin;

const DETACH_KEYS_FLAG = { names: ['--detach-keys'], key: 'detachKeys', kind: 'string' as const, value: 'keys', description: 'key sequence that detaches from a container with a terminal (default ctrl-p,ctrl-q)' };

/**
 * The user's terminal or pipes connected to the container through the attach socket until it
 * stops (its exit code) or the detach keys were typed (1, as Docker).
 */
async function attachThrough(store: ContainerStore, c: ContainerRecord, sock: Socket, stdin: boolean, detachKeys: string | undefined): Promise<number> {
  const keys = detachKeys === undefined ? DEFAULT_DETACH_KEYS : parseDetachKeys(detachKeys);
  const how = await attachSession(sock, {
    tty: c.config.tty,
    stdin: stdin && c.config.openStdin,
    closeStdin: c.config.stdinOnce ?? false,
    detachKeys: keys,
    onSignal: (sig) => {
      const cur = store.get(c.id);
      if (cur?.state.status === 'running') signalContainer(roots(), cur, sig);
    },
  });
  if (how === 'detached') {
    process.stderr.write('read escape sequence\n');
    return 1;
  }
  const done = await waitFinalized(roots(), store, c);
  return done?.state.exitCode ?? 0;
}

export const startCommand: CommandSpec = {
  paths: [['start'], ['container', 'start']],
  summary: 'Start created or stopped containers (detached; -a attaches to the output and waits, -i also to the input).',
  flags: [
    { names: ['--attach', '-a'], key: 'attach', kind: 'bool', description: "attach to the container's output and exit with its exit code" },
    { names: ['--interactive', '-i'], key: 'interactive', kind: 'bool', description: "attach to the container's input too (a container created with -i)" },
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

/** The attach socket of a running container. */
async function connectRunning(store: ContainerStore, c: ContainerRecord): Promise<Socket> {
  const fresh = await refresh(roots(), store, store.get(c.id) ?? c);
  if (fresh.state.status !== 'running') throw new BoxError(`container ${c.name} is not running`);
  try {
    return await connectAttach(attachSocketPath(roots(), c.id));
  } catch (err) {
    throw new BoxError(`cannot attach to ${c.name}: its monitor does not answer (${(err as Error).message})`);
  }
}

export const restartCommand: CommandSpec = {
  paths: [['restart'], ['container', 'restart']],
  summary: 'Stop (stop signal, then SIGKILL after the timeout) and start containers again.',
  flags: [{ names: ['--time', '-t'], key: 'time', kind: 'string', value: 'seconds', description: 'seconds to wait before killing (default 10)' }],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const t = str(a, 'time');
    const timeout = t === undefined ? 10 : parseNonNegativeInt('--time', t);
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

export const attachCommand: CommandSpec = {
  paths: [['attach'], ['container', 'attach']],
  summary: "Attach to a running container: its output until it stops, its terminal and input if it was created with -t or -i.",
  flags: [
    DETACH_KEYS_FLAG,
    { names: ['--no-stdin'], key: 'noStdin', kind: 'bool', description: 'do not attach standard input' },
  ],
  positionals: [{ name: 'CONTAINER' }],
  async run(a) {
    const detachKeys = str(a, 'detachKeys');
    if (detachKeys !== undefined) parseDetachKeys(detachKeys);
    const store = new ContainerStore(roots());
    const c = await refresh(roots(), store, find(store, a.positionals[0]));
    if (c.state.status !== 'running') throw new BoxError(`container ${a.positionals[0]} is not running`);
    if (attachable(c)) return attachThrough(store, c, await connectRunning(store, c), !bool(a, 'noStdin'), detachKeys);
    return attachToLog(roots(), store, c, printEntries);
  },
};
