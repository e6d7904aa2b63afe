// The life of a detached container after it started: its end (reported by the monitor's callback
// or found out later when the monitor died), stop, kill, wait and removal. Every state change of a
// container happens under its lock, so the monitor's callback and a user's command never race.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BoxError } from '../errors';
import { lockFile, Lock } from '../image/locks';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { thaw } from '../linux/freezer';
import { parseSignal } from '../linux/signals';
import { pidfdOpen, pidfdSendSignal } from '../linux/syscalls';
import { lockPaths, Roots } from '../paths';
import { endBackoff, isBackoffAlive, startBackoff } from './backoff';
import { ContainerStore } from './containers';
import { appendEvent } from './events';
import { ContainerRecord } from '../model';
import { isMonitorAlive, readMonitorState, removeRuntimeDir } from './monitor-state';

export function lockContainer(roots: Roots, id: string): Promise<Lock> {
  return lockFile(lockPaths.container(roots, id));
}

/**
 * Records the container's end and releases what it held (its cgroup; with --rm, everything).
 * Idempotent: whoever comes second finds nothing left to do. Call with the container's lock held.
 */
export function finalizeExit(roots: Roots, store: ContainerStore, record: ContainerRecord, exit: { code: number; at: string; error?: string }): void {
  if (record.state.status !== 'running') return;
  const cgroup = containerCgroup(detectCgroups(), record.id);
  const oomKilled = cgroup.oomKilled();
  cgroup.remove();
  removeRuntimeDir(roots, record.id);
  if (oomKilled) appendEvent(roots, 'oom', record);
  appendEvent(roots, 'die', record, { exitCode: exit.code });
  if (record.autoRemove) {
    store.remove(record);
    appendEvent(roots, 'destroy', record);
    return;
  }
  store.setState(record, { status: 'exited', exitCode: exit.code, finishedAt: exit.at, oomKilled, pid: undefined, monitorPid: undefined, error: exit.error });
}

/**
 * Brings a record up to date with reality: a running container whose monitor is gone has ended; a
 * container waiting to restart whose back-off process is gone gets a new back-off for the time
 * that was left (the count is kept: the attempt is the same one).
 */
export async function refresh(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<ContainerRecord> {
  if (record.state.restarting) return isBackoffAlive(record.state.monitorPid, record.id) ? record : resumeBackoff(roots, store, record);
  if (record.state.status !== 'running' || isMonitorAlive(record.state.monitorPid) || !record.state.monitorPid) return record;
  const lock = await lockContainer(roots, record.id);
  try {
    const current = store.get(record.id);
    if (!current) return { ...record, state: { status: 'exited' } };
    const st = readMonitorState(roots, record.id);
    if (current.state.status === 'running' && !isMonitorAlive(current.state.monitorPid)) {
      // The monitor died (killed, or the host lost /run): its container died with it.
      finalizeExit(roots, store, current, st.exited ?? { code: 137, at: new Date().toISOString(), error: 'the container\'s monitor died' });
    }
    return store.get(record.id) ?? { ...current, state: { ...current.state, status: 'exited' } };
  } finally {
    lock.release();
  }
}

async function resumeBackoff(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<ContainerRecord> {
  const lock = await lockContainer(roots, record.id);
  try {
    const current = store.get(record.id);
    if (!current?.state.restarting || isBackoffAlive(current.state.monitorPid, current.id)) return current ?? record;
    const due = Date.parse(current.state.nextRestartAt ?? '');
    const left = Number.isNaN(due) ? 0 : Math.max(0, due - Date.now());
    store.setState(current, { monitorPid: startBackoff(roots, current.id, left) });
    return store.get(current.id) ?? current;
  } finally {
    lock.release();
  }
}

export function find(store: ContainerStore, query: string): ContainerRecord {
  const c = store.find(query);
  if (!c) throw new BoxError(`no such container: ${query}`);
  return c;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the monitor reports the container's exit, or the deadline passes. */
async function waitForExit(roots: Roots, record: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (readMonitorState(roots, record.id).exited || !isMonitorAlive(record.state.monitorPid)) return true;
    if (Date.now() >= deadline) return false;
    await delay(10);
  }
}

/** Waits until the record is no longer running (the monitor's callback finalised it). */
export async function waitFinalized(roots: Roots, store: ContainerStore, record: ContainerRecord, timeoutMs = Infinity): Promise<ContainerRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cur = store.get(record.id);
    if (!cur) return undefined;
    const fresh = await refresh(roots, store, cur);
    if (fresh.state.status !== 'running') return fresh;
    if (Date.now() >= deadline) return fresh;
    await delay(10);
  }
}

/**
 * Sends a signal to the container's init, through a pidfd opened only while its monitor is alive
 * and has not reported the exit, and checked to be the monitor's child: once the monitor reaped
 * the init, the pid in the record may be another process's. False if the container is gone.
 */
export function signalContainer(roots: Roots, record: ContainerRecord, signal: NodeJS.Signals | number): boolean {
  const { pid, monitorPid } = record.state;
  if (!pid) throw new BoxError(`container ${record.name} is not running`);
  if (!isMonitorAlive(monitorPid) || readMonitorState(roots, record.id).exited) return false;
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return false; // already reaped
  }
  try {
    // a zombie's pid is not reused: while the monitor has not reaped it, its child is the init
    if (parentPid(pid) !== monitorPid) return false;
    pidfdSendSignal(fd, typeof signal === 'number' ? signal : os.constants.signals[signal]);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Records that the user stopped the container (a restart policy then leaves it stopped), under its
 * lock so the monitor's exit callback sees either the mark or none. A pending restart is
 * cancelled (its back-off ended) instead. Returns the container if it is running, to be signalled.
 */
export async function markStoppedByUser(roots: Roots, store: ContainerStore, record: ContainerRecord, onRestartCancelled?: () => void): Promise<ContainerRecord | undefined> {
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) return undefined;
    if (cur.state.restarting) {
      // the back-off, or the box it became, which then finds the container stopped
      endBackoff(cur.state.monitorPid, cur.id);
      store.setState(cur, { restarting: false, nextRestartAt: undefined, stoppedByUser: true, monitorPid: undefined });
      onRestartCancelled?.();
      return undefined;
    }
    if (cur.state.status !== 'running') return undefined;
    store.setState(cur, { stoppedByUser: true });
    return store.get(cur.id);
  } finally {
    lock.release();
  }
}

/** Docker's stop: the stop signal, then SIGKILL after the timeout; returns once it is recorded. */
export async function stopContainer(roots: Roots, store: ContainerStore, record: ContainerRecord, timeoutS: number): Promise<void> {
  const fresh = await markStoppedByUser(roots, store, await refresh(roots, store, record), () => appendEvent(roots, 'stop', store.get(record.id) ?? record));
  if (!fresh) return;
  thaw(containerCgroup(detectCgroups(), fresh.id)); // a frozen process cannot handle the stop signal
  const sig = parseSignal(fresh.config.stopSignal ?? 'SIGTERM', 'stop signal');
  if (timeoutS > 0) {
    signalContainer(roots, fresh, sig);
    appendEvent(roots, 'kill', fresh, { signal: String(sig) }); // a number, as Docker's
    if (await waitForExit(roots, fresh, timeoutS * 1000)) {
      await waitFinalized(roots, store, fresh);
      appendEvent(roots, 'stop', fresh);
      return;
    }
  }
  signalContainer(roots, fresh, os.constants.signals.SIGKILL);
  appendEvent(roots, 'kill', fresh, { signal: String(os.constants.signals.SIGKILL) });
  await waitForExit(roots, fresh, 10_000);
  await waitFinalized(roots, store, fresh);
  appendEvent(roots, 'stop', fresh);
}

/** `kill`: a signal to the container's init; SIGKILL counts as the user stopping it. */
export async function killContainer(roots: Roots, store: ContainerStore, record: ContainerRecord, signal: number): Promise<void> {
  const fresh = await refresh(roots, store, record);
  const notRunning = new BoxError(`container ${record.name} is not running`);
  if (fresh.state.status !== 'running') throw notRunning;
  const kill = signal === os.constants.signals.SIGKILL;
  const target = kill ? await markStoppedByUser(roots, store, fresh) : fresh;
  if (!target || !signalContainer(roots, target, signal)) throw notRunning;
  if (kill) thaw(containerCgroup(detectCgroups(), target.id)); // a frozen task dies only once thawed (cgroup v1)
  appendEvent(roots, 'kill', target, { signal: String(signal) });
}

/** `rm`: refuses a running container unless force (then kills it first); removes files and name. */
export async function removeContainer(roots: Roots, store: ContainerStore, record: ContainerRecord, force: boolean): Promise<void> {
  let fresh = await refresh(roots, store, record);
  if (fresh.state.restarting) {
    if (!force) throw new BoxError(`container ${record.name} is restarting: stop it first or use rm -f`);
    await markStoppedByUser(roots, store, fresh);
    fresh = store.get(record.id) ?? fresh;
  }
  if (fresh.state.status === 'running') {
    if (!force) throw new BoxError(`container ${record.name} is running: stop it first or use rm -f`);
    await stopContainer(roots, store, fresh, 0);
    fresh = store.get(record.id) ?? fresh;
  }
  if (store.get(record.id)) {
    const lock = await lockContainer(roots, record.id);
    try {
      containerCgroup(detectCgroups(), record.id).remove();
      removeRuntimeDir(roots, record.id);
      store.remove(fresh);
      appendEvent(roots, 'destroy', fresh);
    } finally {
      lock.release();
    }
  }
  fs.rmSync(lockPaths.container(roots, record.id), { force: true });
}
