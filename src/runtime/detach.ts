// `box run -d`: the container is started with box-helper as its long-lived monitor (native, no
// Node.js process per container). The monitor writes the container's output to its log and its
// state to a file, and when the container exits it calls `box internal exited ID`, which
// releases what the container held and applies the restart policy. For a container with -t or
// -i it also holds the pty or the stdin pipe, and box attach reaches it through a socket.
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import { BoxError } from '../errors';
import { layout, Roots } from '../paths';
import { mkdirp } from '../util/fs';
import { ContainerStore } from './containers';
import { createContainer, Created, CreateRequest, describeStartError, initHook, prepareStart, release } from './create';
import { releaseNetworks } from './networks';
import { backoffArgv, boxArgv, endBackoff, NO_BACKOFF } from './backoff';
import { ATTACH_WAIT_MS, attachSocketPath, connectAttach } from './attach';
import { appendEvent } from './events';
import { runHelper } from './helper';
import { finalizeExit, lockContainer, recordStart, unrecordedStart } from './lifecycle';
import { ContainerRecord } from '../model';
import { logFile, monitorStateFile, readMonitorState, removeRuntimeDir, runtimeDir } from './monitor-state';
import { appendHealthOps, healthActionTaken, healthOf } from './health';
import { decideRestart, NO_RESTART } from './restart';
import { isoTime } from '../util/iso-time';
import { processToken } from '../util/owner';
import { writeStdout } from '../util/stderr';
import { mark } from '../util/trace';

export interface LogOptions {
  maxSize: number;
  maxFile: number;
}

interface Launched {
  code: number;
  started: boolean;
  /** attachFirst: box's connection to the attach socket, made before the container ran */
  socket?: Socket;
}

/** How long a start waits for the helper to say whether the container started (holding the lock). */
const START_ANSWER_MS = 30_000;

/**
 * Starts a prepared container under its monitor and records it as running. Call with the
 * container's lock held (the callback of a container that ends at once waits for it). On a
 * failed start the container's cgroup and runtime files are released and the exit code returned.
 * attachFirst (start -a/-i of a container with -t or -i): the monitor waits for box to connect to
 * its attach socket before the container runs, so none of its output is missed.
 */
async function launch(
  roots: Roots,
  c: Created,
  warn: (m: string) => void,
  restartCount: number,
  attachFirst = false,
  onInitReady?: CreateRequest['onInitReady'],
): Promise<Launched> {
  const { containers, record } = c;
  const log = record.config.log ?? { maxSize: 0, maxFile: 1 };
  removeRuntimeDir(roots, record.id); // a previous run's: its state file must not be taken for this one's
  const attachable = record.config.tty || record.config.openStdin;
  // the state file lies beside the runtime directory, which only the attach socket and health file need
  if (attachable || healthOf(record)) fs.mkdirSync(runtimeDir(roots, record.id), { recursive: true, mode: 0o700 });
  else mkdirp(layout.runContainers(roots), 0o700);
  c.spec
    .op('detach')
    .op('log', logFile(containers.dir(record.id)), log.maxSize, log.maxFile)
    .op('state', monitorStateFile(roots, record.id))
    .op('on-exit', ...boxArgv(roots), 'internal', 'exited', record.id);
  const socketPath = attachSocketPath(roots, record.id);
  if (attachable) c.spec.op('attach', socketPath, attachFirst ? ATTACH_WAIT_MS : 0);
  if (record.config.openStdin) c.spec.op('stdin');
  appendHealthOps(c.spec, record, roots);
  let monitorPid: number | undefined;
  let pid: number | undefined;
  let started = false;
  let connecting: Promise<Socket> | undefined;
  try {
    const result = await runHelper(c.helperPath, c.spec.encode(), {
      stdin: 'ignore',
      output: 'ignore',
      // The socket listens before the container is cloned, so it is there once its pid is known.
      onPid: (p) => {
        pid = p;
        if (attachable && attachFirst) connecting = connectAttach(socketPath);
      },
      onInitReady: initHook(c, onInitReady),
      onMonitor: (p) => (monitorPid = p),
      answerWithinMs: START_ANSWER_MS,
      // only the attach socket's connection needs the pid before the helper's exit
      eventsAtExit: !(attachable && attachFirst),
    });
    if (!result.started) {
      connecting?.then(
        (s) => s.destroy(),
        () => undefined,
      );
      if (result.error) warn(describeStartError(result.error, record.config.args[0]));
      else if (result.helperSignal) {
        warn(`cannot start the container: box-helper was killed by ${result.helperSignal} before it started`);
      }
      return { code: result.exitCode === 0 || result.helperSignal ? 125 : result.exitCode, started: false };
    }
    // Only the helper reports the monitor's pid: killed after the monitor had started the container,
    // it never did. The monitor's state file names it (written before the container could run).
    monitorPid ??= readMonitorState(roots, record.id).monitorPid;
    started = true;
    containers.setState(
      record,
      {
        status: 'running',
        pid,
        monitorPid,
        startedAt: isoTime(),
        ...NO_BACKOFF,
        restartCount,
        exitCode: undefined,
        finishedAt: undefined,
        stoppedByUser: false,
        oomKilled: false,
        error: undefined,
      },
      { current: c.recordCurrent },
    );
    mark('running state written');
    if (restartCount > 0) appendEvent(roots, 'restart', record);
    appendEvent(roots, 'start', record);
    const socket = await connecting?.catch((err: Error) => {
      warn(`cannot attach to ${record.name}: ${err.message}`);
      return undefined;
    });
    return { code: 0, started: true, socket };
  } finally {
    if (!started) {
      removeRuntimeDir(roots, record.id);
      release(c);
      await releaseNetworks(roots, record, warn);
    }
  }
}

export async function runDetached(req: CreateRequest, log: LogOptions): Promise<number> {
  req.keepStoreLock = true; // released once the container has started: no prune takes it before
  req.recordConfig = { ...req.recordConfig, log };
  const c = await createContainer(req); // its lock held since before its cgroup existed
  try {
    const { code, started } = await launch(req.roots, c, req.warn, 0, false, req.onInitReady);
    if (started) writeStdout(`${c.record.id}\n`);
    return code;
  } finally {
    c.lock.release();
    req.storeLock?.release();
  }
}

/** `box start`: starts a created or stopped container again, detached, under a new monitor. */
export async function startExisting(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  warn: (m: string) => void,
): Promise<number> {
  return (await start(roots, store, record, warn, false)).code;
}

/**
 * `box start -a/-i` of a container created with -t or -i: starts it with box already connected
 * to its attach socket (the socket is undefined if the container was running already).
 */
export async function startAttached(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  warn: (m: string) => void,
): Promise<{ code: number; socket?: Socket }> {
  return start(roots, store, record, warn, true);
}

async function start(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  warn: (m: string) => void,
  attachFirst: boolean,
): Promise<Launched> {
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) throw new BoxError(`no such container: ${record.name}`);
    if (cur.state.status === 'running') return { code: 0, started: false };
    if (cur.state.status === 'removing') {
      throw new BoxError(`container ${cur.name} is being removed: finish it with box rm -f ${cur.name}`);
    }
    // a start whose box was killed after the monitor had started the container: it runs already
    const st = unrecordedStart(roots, cur);
    if (st && !cur.state.restarting) {
      recordStart(roots, store, cur, st);
      return { code: 0, started: false };
    }
    // A start by the user replaces a pending restart attempt and, as Docker, resets the count.
    if (cur.state.restarting) endBackoff(cur.state, cur.id);
    const c = prepareStart(roots, store, cur);
    return await launch(roots, c, warn, 0, attachFirst);
  } finally {
    lock.release();
  }
}

/**
 * How long the monitor's callbacks wait for the container's lock: nobody sits through them, and
 * giving up loses a restart (the next box command then records the end from the state file).
 */
const CALLBACK_LOCK_WAIT_MS = 60_000;

/**
 * `box internal exited ID`: the monitor's callback once the container has exited. Prints `done`,
 * or, when the restart policy says so, `exec` of the helper's back-off that then runs
 * `box internal restart ID` (native/PROTOCOL.md).
 */
export async function onContainerExited(roots: Roots, id: string, helperPath: string): Promise<string> {
  const store = new ContainerStore(roots);
  const lock = await lockContainer(roots, id, CALLBACK_LOCK_WAIT_MS);
  try {
    const record = store.get(id);
    if (!record) return 'done';
    const st = readMonitorState(roots, id);
    // the box that started it was killed before it recorded the start: record it, then its end
    const unrecorded = record.state.status !== 'running' && !record.state.restarting && unrecordedStart(roots, record);
    if (unrecorded) recordStart(roots, store, record, st);
    const healthAction = healthActionTaken(roots, id); // before finalizeExit removes the runtime dir
    finalizeExit(roots, store, record, st.exited ?? { code: 137, at: isoTime() });
    await releaseNetworks(roots, record);
    const ended = store.get(id);
    if (!ended) return 'done';
    let decision = decideRestart(ended);
    // --health-on-failure: restart even without a restart policy; stop means stay stopped.
    if (healthAction === 'restart' && !decision.restart && !ended.state.stoppedByUser && !ended.autoRemove) {
      decision = { restart: true, delayMs: (ended.config.restart ?? NO_RESTART).baseMs };
    }
    if (healthAction === 'stop') decision = { restart: false, delayMs: 0 };
    if (!decision.restart) return 'done';
    // The monitor's pid lives on as the back-off process: stop and rm cancel through it.
    // When it is due is recorded too: a back-off that gets killed is resumed for the time left.
    const nextRestartAt = isoTime(Date.now() + decision.delayMs);
    store.setState(ended, {
      restarting: true,
      restartDelayMs: decision.delayMs,
      nextRestartAt,
      monitorPid: st.monitorPid,
      backoffToken: st.monitorPid ? processToken(st.monitorPid) : undefined,
    });
    const argv = backoffArgv(roots, id, decision.delayMs, helperPath);
    return `exec ${argv.map((a) => JSON.stringify(a)).join(' ')}`;
  } finally {
    lock.release();
  }
}

/** `box internal restart ID`: the next attempt of a restarting container, after its back-off. */
export async function restartAfterBackoff(roots: Roots, id: string): Promise<number> {
  const store = new ContainerStore(roots);
  const lock = await lockContainer(roots, id, CALLBACK_LOCK_WAIT_MS);
  try {
    const record: ContainerRecord | undefined = store.get(id);
    if (!record?.state.restarting || record.state.stoppedByUser) return 0;
    const failed = (why: string) =>
      store.setState(record, {
        ...NO_BACKOFF,
        status: 'exited',
        exitCode: 125,
        error: why,
      });
    let c: Created;
    try {
      c = prepareStart(roots, store, record);
    } catch (err) {
      failed(`restart failed: ${(err as Error).message}`); // a host port taken meanwhile, its image gone
      throw err;
    }
    const { started } = await launch(roots, c, () => undefined, (record.state.restartCount ?? 0) + 1);
    if (!started) failed('restart failed');
    return 0;
  } finally {
    lock.release();
  }
}
