// The life of a container after it started: its end (reported by the monitor's callback or the
// foreground box run, or found out later when either was killed: see owner.ts), stop, kill, wait
// and removal. Every state change of a detached container happens under its lock, so the
// monitor's callback and a user's command never race. Every wait here is bounded: past the bound
// box says what it waited for and how to recover.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BoxError } from '../errors';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { thaw } from '../linux/freezer';
import { parseSignal } from '../linux/signals';
import { pidfdOpen, pidfdSendSignal } from '../linux/syscalls';
import { Roots } from '../paths';
import { endBackoff, isBackoffAlive, NO_BACKOFF, startBackoff } from './backoff';
import { CONTAINER_WAIT_MS, lockContainer } from './container-lock';
import { ContainerStore, DamagedContainer } from './containers';
import { appendEvent } from './events';
import { ContainerRecord } from '../model';
import { isMonitorAlive, MonitorState, readMonitorState, removeRuntimeDir } from './monitor-state';
import { initReleased, isAbandoned, isOwnerAlive, isStartAbandoned, killHelper } from './owner';
import { releaseNetworks } from './networks';
import { releaseSharedTmpfs } from '../volume/shared-tmpfs';
import { isoTime } from '../util/iso-time';

export { CONTAINER_WAIT_MS, lockContainer };

/** neverStarted: the command never ran (a start killed during its setup): the record says created. */
type Exit = { code: number; at: string; error?: string; neverStarted?: boolean };

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Records the container's end and releases what it held (its cgroup; with --rm, everything).
 * Idempotent: whoever comes second finds nothing left to do. Call with the container's lock held.
 */
export function finalizeExit(roots: Roots, store: ContainerStore, record: ContainerRecord, exit: Exit): void {
  if (record.state.status !== 'running') return;
  const cgroup = containerCgroup(detectCgroups(), record.id);
  const oomKilled = cgroup.oomKilled();
  cgroup.remove();
  removeRuntimeDir(roots, record.id);
  releaseSharedTmpfs(roots, record.id, record.config.mounts, (id) => store.isRunning(id));
  if (oomKilled) appendEvent(roots, 'oom', record);
  if (!exit.neverStarted) appendEvent(roots, 'die', record, { exitCode: exit.code });
  if (record.autoRemove) {
    store.remove(record);
    appendEvent(roots, 'destroy', record);
    return;
  }
  const gone = { pid: undefined, monitorPid: undefined, ownerPid: undefined };
  const status = exit.neverStarted ? ('created' as const) : ('exited' as const);
  const ended = { status, exitCode: exit.code, finishedAt: exit.at, oomKilled, error: exit.error };
  store.setState(record, { ...ended, ...gone });
}

/**
 * Brings a record up to date with reality: a running container that nobody answers for any more (its
 * monitor died, or the foreground `box run` that owned it was killed) has ended; a start whose box was
 * killed after the monitor had started the container is recorded from the monitor's state file; a
 * container waiting to restart whose back-off process is gone gets a new back-off for the time
 * that was left (the count is kept: the attempt is the same one).
 */
export async function refresh(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<ContainerRecord> {
  if (!staleness(roots, record)) return record;
  return record.state.restarting ? resumeBackoff(roots, store, record) : settle(roots, store, record);
}

/** Why refresh would change the record now (who answered for it is gone); undefined when it holds. */
export function staleness(roots: Roots, record: ContainerRecord): string | undefined {
  if (record.state.restarting) {
    return isBackoffAlive(record.state, record.id)
      ? undefined
      : 'it waits to restart, but its back-off process is gone';
  }
  if (record.state.status === 'running') {
    return isOwnerAlive(roots, record) ? undefined : "it is recorded running, but its monitor or 'box run' is gone";
  }
  if (unrecordedStart(roots, record)) return 'its start was never recorded (the box that started it was killed)';
  if (isAbandoned(roots, record)) return "the 'box run' that owned it was killed";
  if (isStartAbandoned(roots, record)) return 'the box that started it was killed before the container ran';
  return undefined;
}

/** refresh, under the container's lock: records an unrecorded start, finalises an orphan. */
async function settle(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<ContainerRecord> {
  const lock = await lockContainer(roots, record.id);
  try {
    const current = store.get(record.id);
    if (!current) return { ...record, state: { status: 'exited' } };
    if (!current.state.restarting) {
      const st = unrecordedStart(roots, current);
      if (st) recordStart(roots, store, current, st);
      else if (isAbandoned(roots, current)) releaseAbandoned(roots, store, current);
      else if (isStartAbandoned(roots, current, true)) await releaseKilledStart(roots, store, current);
    }
    if (current.state.status === 'running' && !isOwnerAlive(roots, current)) {
      finalizeExit(roots, store, current, await orphanExit(roots, current));
      await releaseNetworks(roots, current); // its init is gone: its addresses, names and ports go too
    }
    return store.get(record.id) ?? { ...current, state: { ...current.state, status: 'exited' } };
  } finally {
    lock.release();
  }
}

/**
 * The monitor's state when a monitor started (or is starting) this detached container but the
 * record does not name it: the box or the helper that started it was killed before it recorded the
 * monitor's pid (or the start). Left alone, box would start a second container in the same cgroup.
 */
export function unrecordedStart(roots: Roots, record: ContainerRecord): MonitorState | undefined {
  if (record.state.ownerPid !== undefined) return undefined; // foreground: no monitor, no state file
  const st = readMonitorState(roots, record.id);
  const known = record.state.status === 'running' && st.monitorPid === record.state.monitorPid;
  if (!st.monitorPid || known) return undefined;
  // A live monitor may still be setting the container up: if that fails, it exits and the record,
  // finalised then, says how. One that ended left its exit (and its cgroup) to be recorded.
  return isMonitorAlive(st.monitorPid) || st.exited ? st : undefined;
}

/** Makes the record name the monitor and container of an unrecorded start. Call with the lock held. */
export function recordStart(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  st: MonitorState,
  extra: Partial<ContainerRecord['state']> = {},
): void {
  const announced = record.state.status === 'running';
  const previousRun = { exitCode: undefined, finishedAt: undefined, error: undefined, oomKilled: false };
  const fresh = { ...previousRun, stoppedByUser: false };
  const started = { status: 'running' as const, pid: st.pid, monitorPid: st.monitorPid, startedAt: st.startedAt };
  store.setState(record, { ...(announced ? {} : fresh), ...extra, ...started });
  if (!announced) appendEvent(roots, 'start', record);
}

/**
 * What a foreground box run killed before its container started (or after it recorded the end)
 * left: its cgroup (killing anything the helper started meanwhile), runtime files, a --rm record.
 */
function releaseAbandoned(roots: Roots, store: ContainerStore, record: ContainerRecord): void {
  containerCgroup(detectCgroups(), record.id).remove();
  removeRuntimeDir(roots, record.id);
  releaseSharedTmpfs(roots, record.id, record.config.mounts, (id) => store.isRunning(id));
  if (record.autoRemove) {
    store.remove(record);
    appendEvent(roots, 'destroy', record);
  }
}

/**
 * What a start killed before the container ran left (its cgroup, which kills the waiting init and
 * so its network namespace and veths; its runtime files; its addresses and names). The record
 * stays as it was (created, as Docker keeps one whose start failed), or goes with --rm.
 */
async function releaseKilledStart(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<void> {
  releaseAbandoned(roots, store, record);
  await releaseNetworks(roots, record);
}

/** How a container ended whose end nobody recorded; a foreground one still running is stopped. */
async function orphanExit(roots: Roots, record: ContainerRecord): Promise<Exit> {
  const at = isoTime();
  const st = readMonitorState(roots, record.id);
  // The monitor died (killed, or the host lost /run): its container died with it.
  if (record.state.ownerPid === undefined) return st.exited ?? { code: 137, at, error: "the container's monitor died" };
  // The box run that owned it is gone, and with it the terminal or pipes the container's input and
  // output belonged to: the container is stopped. Killed through its cgroup, its helper sees it end
  // and restores a terminal it had put in raw mode; a helper still there after that is killed.
  const cgroup = containerCgroup(detectCgroups(), record.id);
  const wasRunning = cgroup.pids().length > 0;
  const ran = initReleased(roots, record.id);
  cgroup.killAll();
  const deadline = Date.now() + HELPER_EXIT_WAIT_MS;
  while (isMonitorAlive(record.state.monitorPid) && Date.now() < deadline) await delay(10);
  killHelper(record.state.monitorPid);
  const owner = `box run (pid ${record.state.ownerPid}), which owned the container,`;
  // Killed before it let the init go on (while it set up the network): the command never ran. A
  // start that failed, which Docker records as created, with exit code 128 and the reason.
  if (!ran) {
    const error = `${owner} was killed before the container's command started: it never ran`;
    return { code: 128, at, error, neverStarted: true };
  }
  if (wasRunning) return { code: 137, at, error: `${owner} was killed: the container was stopped` };
  return { code: 255, at, error: `${owner} was killed before it recorded the exit: the exit code is unknown` };
}

/** How long a foreground container's helper gets to end once its container was killed. */
const HELPER_EXIT_WAIT_MS = 2000;

async function resumeBackoff(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<ContainerRecord> {
  const lock = await lockContainer(roots, record.id);
  try {
    const current = store.get(record.id);
    if (!current?.state.restarting || isBackoffAlive(current.state, current.id)) return current ?? record;
    // the back-off's box was killed after the monitor of the next attempt had started it
    const st = unrecordedStart(roots, current);
    if (st) {
      const restartCount = (current.state.restartCount ?? 0) + 1;
      recordStart(roots, store, current, st, {
        ...NO_BACKOFF,
        restartCount,
      });
      appendEvent(roots, 'restart', current);
      if (!isOwnerAlive(roots, current)) {
        finalizeExit(roots, store, current, await orphanExit(roots, current));
      }
      return store.get(current.id) ?? current;
    }
    const due = Date.parse(current.state.nextRestartAt ?? '');
    const left = Number.isNaN(due) ? 0 : Math.max(0, due - Date.now());
    store.setState(current, startBackoff(roots, current.id, left));
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

/** Waits until the monitor reports the container's exit, or the deadline passes. */
async function waitForExit(roots: Roots, record: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (readMonitorState(roots, record.id).exited || !isMonitorAlive(record.state.monitorPid)) return true;
    if (Date.now() >= deadline) return false;
    await delay(10);
  }
}

/**
 * Waits until the record is no longer running (the monitor's callback or the foreground box run
 * finalised it, or refresh found that nobody will), or the deadline passes.
 */
export async function waitFinalized(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  timeoutMs = Infinity,
): Promise<ContainerRecord | undefined> {
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
export async function markStoppedByUser(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  onRestartCancelled?: () => void,
): Promise<ContainerRecord | undefined> {
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) return undefined;
    if (cur.state.restarting) {
      // the back-off, or the box it became, which then finds the container stopped
      endBackoff(cur.state, cur.id);
      store.setState(cur, {
        ...NO_BACKOFF,
        stoppedByUser: true,
        monitorPid: undefined,
      });
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

/**
 * Docker's stop: the stop signal, then SIGKILL after the timeout; returns once it is recorded, or
 * fails saying who has not recorded it (box rm -f then removes the container all the same).
 */
export async function stopContainer(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  timeoutS: number,
): Promise<void> {
  const fresh = await markStoppedByUser(roots, store, await refresh(roots, store, record), () =>
    appendEvent(roots, 'stop', store.get(record.id) ?? record),
  );
  if (!fresh) return;
  thaw(containerCgroup(detectCgroups(), fresh.id)); // a frozen process cannot handle the stop signal
  const sig = parseSignal(fresh.config.stopSignal ?? 'SIGTERM', 'stop signal');
  if (timeoutS > 0) {
    signalContainer(roots, fresh, sig);
    appendEvent(roots, 'kill', fresh, { signal: String(sig) }); // a number, as Docker's
    if (await waitForExit(roots, fresh, timeoutS * 1000)) {
      await waitRecorded(roots, store, fresh, true);
      appendEvent(roots, 'stop', fresh);
      return;
    }
  }
  signalContainer(roots, fresh, os.constants.signals.SIGKILL);
  appendEvent(roots, 'kill', fresh, { signal: String(os.constants.signals.SIGKILL) });
  // (10 s without the monitor seeing the end: the monitor is stuck, and rm -f then goes on without it)
  await waitRecorded(roots, store, fresh, await waitForExit(roots, fresh, CONTAINER_WAIT_MS));
  appendEvent(roots, 'stop', fresh);
}

/**
 * Waits a bounded time for a stopped container's end to be recorded (no time if its exit was not
 * even seen); past it, says who did not record it.
 */
async function waitRecorded(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  exited: boolean,
): Promise<void> {
  const done = await waitFinalized(roots, store, record, exited ? CONTAINER_WAIT_MS : 0);
  if (done?.state.status !== 'running') return;
  const { ownerPid, monitorPid } = done.state;
  const who =
    ownerPid !== undefined
      ? `the box run that owns it (pid ${ownerPid})`
      : `its monitor (box-helper, pid ${monitorPid})`;
  const late = `has not recorded its end within ${CONTAINER_WAIT_MS / 1000} s`;
  throw new BoxError(
    `container ${record.name} was killed, but ${who} ${late}: box rm -f ${record.name} removes it all the same`,
  );
}

/** `kill`: a signal to the container's init; SIGKILL counts as the user stopping it. */
export async function killContainer(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  signal: number,
): Promise<void> {
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
export async function removeContainer(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  force: boolean,
  volumes = false,
): Promise<void> {
  let fresh = await refresh(roots, store, record);
  if (fresh.state.restarting) {
    if (!force) throw new BoxError(`container ${record.name} is restarting: stop it first or use rm -f`);
    await markStoppedByUser(roots, store, fresh);
    fresh = store.get(record.id) ?? fresh;
  }
  if (fresh.state.status === 'running') {
    if (!force) throw new BoxError(`container ${record.name} is running: stop it first or use rm -f`);
    try {
      await stopContainer(roots, store, fresh, 0);
    } catch (err) {
      // nobody recorded its end in time: what is left of it is killed below
      if (!(err instanceof BoxError) || !store.get(record.id)) throw err;
    }
    fresh = store.get(record.id) ?? fresh;
  }
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) return; // removed meanwhile
    const { status, monitorPid } = cur.state;
    // started meanwhile (a start holds this lock): only -f removes a running container
    if (!force && (status === 'running' || cur.state.restarting))
      throw new BoxError(`container ${record.name} is running: stop it first or use rm -f`);
    // From here until the record goes, it is listed as removing, and rm -f finishes the job.
    store.setState(cur, { status: 'removing' });
    // A monitor or helper still there cannot record anything once the record is gone: it goes
    // too, then everything in the container's cgroups (removing the cgroup kills what is left).
    if (status === 'running') killHelper(monitorPid);
    // Its monitor recorded a restart after this rm first read it (it read the exit, half-recorded):
    // the back-off would outlive the record by its whole delay.
    if (cur.state.restarting) endBackoff(cur.state, cur.id);
    releaseKernelObjects(roots, cur.id);
    releaseSharedTmpfs(roots, cur.id, cur.config.mounts, (id) => store.isRunning(id)); // before its volumes go
    store.remove(cur, volumes);
    await releaseNetworks(roots, cur);
    appendEvent(roots, 'destroy', cur);
  } finally {
    lock.release();
  }
}

/**
 * `rm -f` of a container whose record is damaged: everything is released by its directory's id
 * (its monitor, its cgroup, which kills what still runs in it, and runtime files), then its names
 * and files.
 */
export async function removeDamaged(roots: Roots, store: ContainerStore, damaged: DamagedContainer): Promise<void> {
  const lock = await lockContainer(roots, damaged.id);
  try {
    // The monitor goes first: it would write into the runtime dir as the container dies.
    await killMonitor(roots, damaged.id);
    releaseKernelObjects(roots, damaged.id);
    store.remove({ id: damaged.id });
    const unknown = { image: { ref: '' }, labels: {} } as unknown as ContainerRecord['config'];
    appendEvent(roots, 'destroy', { id: damaged.id, name: '', config: unknown });
  } finally {
    lock.release();
  }
}

/** Kills the monitor named by the container's runtime state, and waits (at most 5 s) until it is gone. */
async function killMonitor(roots: Roots, id: string): Promise<void> {
  const pid = readMonitorState(roots, id).monitorPid;
  if (!pid || !isMonitorAlive(pid)) return;
  try {
    const fd = pidfdOpen(pid);
    try {
      // still that monitor: from now on the pidfd names it, whatever pid the kernel gives later
      if (isMonitorAlive(pid)) pidfdSendSignal(fd, os.constants.signals.SIGKILL);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return; // gone meanwhile
  }
  const deadline = Date.now() + 5000;
  while (isMonitorAlive(pid) && Date.now() < deadline) await delay(10);
}

function releaseKernelObjects(roots: Roots, id: string): void {
  containerCgroup(detectCgroups(), id).remove();
  removeRuntimeDir(roots, id);
}
