// create, start, restart and attach: a container's record exists independently of its runs.
import * as fs from 'node:fs';
import { BoxError } from '../errors';
import { ContainerStore } from '../runtime/containers';
import { createRecord } from '../runtime/create';
import { startExisting } from '../runtime/detach';
import { find, refresh, signalContainer, stopContainer, waitFinalized } from '../runtime/lifecycle';
import { readFrom, LogEntry } from '../runtime/logs';
import { logFile } from '../runtime/monitor-state';
import { parseNonNegativeInt } from '../util/units';
import { bool, CommandSpec, list, str } from './args';
import { roots } from './context';
import { parseLogOpts, pullFirst, requestFrom, RUN_FLAGS } from './run';

const warn = (msg: string) => process.stderr.write(`box: ${msg}\n`);

export const createCommand: CommandSpec = {
  paths: [['create'], ['container', 'create']],
  summary: 'Create a container without starting it (start it with box start).',
  flags: RUN_FLAGS.filter((f) => f.key !== 'detach'),
  positionals: [{ name: 'IMAGE' }],
  stopAfterPositionals: true,
  async run(a) {
    const req = requestFrom(a);
    if (req.flags.tty || req.flags.interactive) throw new BoxError('create: -t and -i are not supported for started-later containers yet');
    const pulled = await pullFirst(req, str(a, 'pull'));
    if (pulled !== 0) return pulled;
    const log = parseLogOpts(list(a, 'logOpt'));
    const { containers, record } = await createRecord(req);
    record.config.log = log;
    containers.save(record);
    process.stdout.write(record.id + '\n');
    return 0;
  },
};

function logSize(store: ContainerStore, id: string): number {
  try {
    return fs.statSync(logFile(store.dir(id))).size;
  } catch {
    return 0; // no output yet
  }
}

/** Streams a container's output written after `offset` until it stops, forwarding SIGINT/SIGTERM to it. */
async function attachOutput(store: ContainerStore, id: string, from?: number): Promise<number> {
  const r = roots();
  const c = find(store, id);
  const file = logFile(store.dir(c.id));
  let offset = from ?? logSize(store, c.id);
  const forward = (sig: NodeJS.Signals) => {
    const cur = store.get(c.id);
    if (cur?.state.status === 'running') signalContainer(cur, sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const print = (entries: LogEntry[]) => entries.forEach((e) => (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.log));
  try {
    for (;;) {
      const fresh = await refresh(r, store, store.get(c.id) ?? c);
      const got = readFrom(file, offset);
      offset = got.offset;
      print(got.entries);
      if (fresh.state.status !== 'running') {
        print(readFrom(file, offset).entries);
        const done = await waitFinalized(r, store, fresh);
        return done?.state.exitCode ?? 0;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

export const startCommand: CommandSpec = {
  paths: [['start'], ['container', 'start']],
  summary: 'Start created or stopped containers (detached; -a attaches to the output and waits).',
  flags: [
    { names: ['--attach', '-a'], key: 'attach', kind: 'bool', description: "attach to the container's output and exit with its exit code" },
    { names: ['--interactive', '-i'], key: 'interactive', kind: 'bool', description: 'attach standard input (not supported yet)' },
  ],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    if (bool(a, 'interactive')) throw new BoxError('start -i is not supported yet: detached containers have no standard input');
    if (bool(a, 'attach') && a.positionals.length > 1) throw new BoxError('start -a takes one container');
    const store = new ContainerStore(roots());
    let code = 0;
    for (const q of a.positionals) {
      const c = find(store, q);
      const before = logSize(store, c.id); // a quick container may be done before we attach
      const started = await startExisting(roots(), store, c, warn);
      if (started !== 0) {
        code = started;
        continue;
      }
      if (bool(a, 'attach')) return attachOutput(store, c.id, before);
      process.stdout.write(q + '\n');
    }
    return code;
  },
};

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
      process.stdout.write(q + '\n');
    }
    return 0;
  },
};

export const attachCommand: CommandSpec = {
  paths: [['attach'], ['container', 'attach']],
  summary: "Attach to a running container's output (SIGINT and SIGTERM are forwarded to it) until it stops.",
  flags: [],
  positionals: [{ name: 'CONTAINER' }],
  async run(a) {
    const store = new ContainerStore(roots());
    const c = await refresh(roots(), store, find(store, a.positionals[0]));
    if (c.state.status !== 'running') throw new BoxError(`container ${a.positionals[0]} is not running`);
    return attachOutput(store, c.id);
  },
};
