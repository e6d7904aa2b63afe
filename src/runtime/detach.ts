// `box run -d`: the container is started with box-helper as its long-lived monitor (native, no
// Node.js process per container). The monitor writes the container's output to its log and its
// state to a file, and when the container exits it calls `box internal exited ID`, which
// releases what the container held.
import * as fs from 'node:fs';
import { isSea } from '../assets';
import { BoxError } from '../errors';
import { Roots } from '../paths';
import { createContainer, CreateRequest, describeStartError, release } from './create';
import { runHelper } from './helper';
import { finalizeExit, lockContainer } from './lifecycle';
import { logFile, monitorStateFile, runtimeDir } from './monitor-state';

export interface LogOptions {
  maxSize: number;
  maxFile: number;
}

/** The command line that runs this very box (the single executable, or node + bundle in dev). */
export function boxArgv(roots: Roots): string[] {
  const self = isSea() ? [process.execPath] : [process.execPath, process.argv[1]];
  return [...self, '--root', roots.root, '--runroot', roots.runroot];
}

export async function runDetached(req: CreateRequest, log: LogOptions): Promise<number> {
  if (req.flags.tty || req.flags.interactive) throw new BoxError('-d cannot be combined with -t or -i yet: run detached without a terminal');
  const c = createContainer(req);
  const { containers, record } = c;
  // The callback of a container that ends at once must not overtake our own state update.
  const lock = await lockContainer(req.roots, record.id);
  let started = false;
  try {
    fs.mkdirSync(runtimeDir(req.roots, record.id), { recursive: true, mode: 0o700 });
    c.spec
      .op('detach')
      .op('log', logFile(containers.dir(record.id)), log.maxSize, log.maxFile)
      .op('state', monitorStateFile(req.roots, record.id))
      .op('on-exit', ...boxArgv(req.roots), 'internal', 'exited', record.id);
    let monitorPid: number | undefined;
    let pid: number | undefined;
    const result = await runHelper(c.helperPath, c.spec.encode(), {
      stdin: 'ignore',
      output: 'ignore',
      onPid: (p) => (pid = p),
      onMonitor: (p) => (monitorPid = p),
    });
    if (!result.started) {
      if (result.error) req.warn(describeStartError(result.error, record.config.args[0]));
      return result.exitCode === 0 ? 125 : result.exitCode;
    }
    started = true;
    containers.setState(record, { status: 'running', pid, monitorPid, startedAt: new Date().toISOString() });
    process.stdout.write(record.id + '\n');
    return 0;
  } finally {
    if (!started) {
      fs.rmSync(runtimeDir(req.roots, record.id), { recursive: true, force: true });
      release(c);
    }
    lock.release();
  }
}

/** `box internal exited ID`: the monitor's callback once the container has exited. */
export async function onContainerExited(roots: Roots, id: string): Promise<string> {
  const { ContainerStore } = await import('./containers');
  const { readMonitorState } = await import('./monitor-state');
  const store = new ContainerStore(roots);
  const lock = await lockContainer(roots, id);
  try {
    const record = store.get(id);
    if (!record) return 'done';
    const st = readMonitorState(roots, id);
    finalizeExit(roots, store, record, st.exited ?? { code: 137, at: new Date().toISOString() });
    return 'done';
  } finally {
    lock.release();
  }
}
