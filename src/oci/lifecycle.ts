// The OCI lifecycle over box's helper: `create` starts the helper as a detached monitor whose
// container's init waits on the control channel (native/PROTOCOL.md, fd 5), which here is a FIFO in
// the container's state directory, made and held open by the monitor (control-fifo); `start` writes `go` into it, `kill` and
// `delete` of a created container write `abort`. The helper's status events go to a file there, so
// any later box-runc process reads how the start went. Policies (policy.ts) judge every create.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import { assetPath } from '../assets';
import { BoxError, errnoCode } from '../errors';
import { cgroupAt, CgroupLimits, CgroupManager, checkLimits, detectCgroups } from '../linux/cgroups';
import { isMonitorAlive } from '../runtime/monitor-state';
import type { ProcessSecurity } from '../runtime/security';
import { outputFile, writeFileAtomic } from '../util/fs';
import { mark } from '../util/trace';
import { readUserText } from '../util/user-file';
import { OciConfig, parseOciConfig } from './config';
import { buildOciSpec, rootfsOf } from './plan';
import { runHooks } from './hooks';
import { checkId, initAlive, OciRecord, OciStatus, OciStore, procStartTime } from './store';
import { isoTime } from '../util/iso-time';

/** How long create and start wait for the helper to say how it went. */
const ANSWER_MS = 30_000;
/** How long delete and kill wait for a container's monitor to go once its init was killed. */
const GONE_MS = 10_000;

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  /** --console-socket: where the pty master of a container with process.terminal goes */
  consoleSocket?: string;
  /** --preserve-fds: these fds of this process become the container process's 3.. */
  preserveFds?: number[];
  /** where the helper is extracted (box's storage root's cache) */
  helperCache: string;
  warn: (message: string) => void;
  /** judges the container before anything is made; may tighten the config (policy.ts) */
  admit?: (config: OciConfig, id: string) => Promise<OciConfig>;
  /**
   * A foreground `run`: the helper stays the init's parent and this process the helper's (no
   * monitor, no release), and exits with the container's status; it gets the helper here.
   */
  foreground?: (helper: ChildProcess) => void;
}

export function readBundle(bundle: string): OciConfig {
  const text = readUserText(path.join(bundle, 'config.json'), {
    what: "the bundle's config",
    maxBytes: 4 * 1024 * 1024,
    hint: 'give --bundle the directory that holds config.json',
  });
  return parseOciConfig(text);
}

function cgroupOf(rec: Pick<OciRecord, 'cgroupPath' | 'limits'>): CgroupManager {
  return cgroupAt(detectCgroups(), rec.cgroupPath, rec.limits);
}

export async function ociCreate(store: OciStore, o: CreateOptions): Promise<OciRecord> {
  mark('oci: create');
  checkId(o.id);
  if (o.pidFile) outputFile(o.pidFile, '--pid-file', { follow: false }); // refused before anything is made
  const bundle = path.resolve(o.bundle);
  let config = readBundle(bundle);
  mark('oci: bundle read');
  if (o.admit) config = await o.admit(config, o.id);
  mark('oci: admitted');
  if (o.foreground && config.process.terminal) {
    throw new BoxError('process.terminal: box-runc runs a container on a terminal detached only (run --detach)');
  }
  if (config.process.terminal !== (o.consoleSocket !== undefined)) {
    throw new BoxError(
      config.process.terminal
        ? 'process.terminal needs --console-socket: the pty master goes there'
        : '--console-socket needs process.terminal in config.json',
    );
  }
  const rootfs = rootfsOf(config, bundle);
  if (!fs.statSync(rootfs, { throwIfNoEntry: false })?.isDirectory()) {
    throw new BoxError(`root.path ${rootfs} is not a directory: the bundle's root filesystem must exist`);
  }
  const host = detectCgroups();
  for (const w of [...config.warnings, ...checkLimits(host, config.limits)]) o.warn(w);
  const security = securityOf(config);
  store.claim(o.id);
  const cgroupPath = config.cgroupsPath ?? `box-runc/${o.id}`;
  const cgroup = cgroupAt(host, cgroupPath, config.limits);
  let made = false;
  // the container's state as its in-container hooks get it, the pid their init's (plan.ts)
  const base = { ociVersion: config.ociVersion, id: o.id, bundle, rootfs, annotations: config.annotations };
  const created = isoTime();
  const hookState = { creating: stateOf({ ...base, created, pid: 0 }, 'creating'), created: {} };
  hookState.created = { ...hookState.creating, status: 'created' };
  // createContainer hooks: the init sets up only after createRuntime's ran, and create waits for it
  // (in the foreground the init sets up after start's go anyway, createRuntime's having run)
  const ready = Boolean(config.hooks.createContainer?.length) && !o.foreground;
  let helper: Helper | undefined;
  try {
    writeFileAtomic(store.cgroupFile(o.id), cgroupPath, 0o600, false); // for a delete --force if this process dies
    const extraFds = o.preserveFds ?? [];
    // Started before its spec exists, which it waits for on fd 3: its exec and re-exec from a sealed
    // memfd (native/PROTOCOL.md) run while this process makes the cgroup and plans, not after.
    helper = spawnHelper(store, o.id, o.helperCache, { foreground: o.foreground !== undefined, extraFds });
    mark('oci: helper spawned');
    cgroup.create(config.limits, config.allDevices);
    made = true;
    mark('oci: cgroup created');
    // The runtime-spec wants the init in its cgroup at create: with `release` the helper reports
    // `pid N` once it is there (on v1 the init moved itself, far cheaper: native/PROTOCOL.md). With
    // `ready`, `pid` comes before the init sets up (createRuntime hooks need it), and in a user
    // namespace the init is no longer the host's root, whose cgroup files they are: the helper moves it.
    const init =
      ready || config.idMaps
        ? { ...cgroup.initCgroup(), helperWrites: cgroup.procsFiles(), selfWrites: [] }
        : cgroup.initCgroup();
    const spec = buildOciSpec({ config, bundle, cgroup: init, security, hookState });
    mark('oci: planned');
    if (ready) spec.op('ready');
    if (o.preserveFds?.length) spec.op('preserve-fds', o.preserveFds.length);
    // As runc: the container's stdio is the caller's, and once started its parent is the caller's
    // subreaper (containerd's shim, conmon), which waits for it (native/PROTOCOL.md `release`).
    // In the foreground the helper is that parent itself, and its exit status the container's.
    if (!o.foreground) spec.op('detach').op('state', store.monitorFile(o.id)).op('release');
    spec.op('control-fifo', store.controlFifo(o.id)); // the helper makes it (Node has no mknod)
    if (o.consoleSocket) spec.op('console-socket', path.resolve(o.consoleSocket));
    // detached, the helper outlives this process: until the lifeline's byte it ends the container
    // itself if this process ends or gives up (native/PROTOCOL.md `lifeline`); in the foreground it
    // does so until start's go. Its fd follows the preserved ones.
    spec.op('lifeline', FIRST_PRESERVED_FD + extraFds.length);
    helper.send(spec.encode());
    const { pid, monitorPid } = await awaitInit(store, o.id, helper, {
      terminal: config.process.terminal && !ready, // with `ready`, its setup starts after the hooks below
      foreground: o.foreground !== undefined,
    });
    o.foreground?.(helper.child);
    mark('oci: init waits');
    const pidStart = procStartTime(pid);
    if (!pidStart) throw new BoxError(`the container's init (pid ${pid}) is gone before start`);
    const rec: OciRecord = {
      ...base,
      created,
      cgroupPath,
      command: config.process.args[0],
      seccomp: config.seccomp,
      limits: config.limits,
      hooks: { poststart: config.hooks.poststart, poststop: config.hooks.poststop },
      pid,
      pidStart,
      monitorPid,
    };
    // The init exists in its namespaces and waits: where runc runs these (a CNI plugin's, say).
    const state = stateOf(rec, 'creating');
    await runHooks('prestart', config.hooks.prestart, state, true, o.warn);
    await runHooks('createRuntime', config.hooks.createRuntime, state, true, o.warn);
    if (ready) {
      sendControl(store, o.id, 'go'); // its steps, createContainer hooks among them, run now
      await awaitSetUp(store, o.id, monitorPid, config.process.terminal);
      mark('oci: createContainer hooks ran');
    }
    store.save(rec);
    store.saveStateFile(rec, cgroup.location());
    mark('oci: recorded');
    if (o.pidFile) writePidFile(o.pidFile, pid);
    await helper.release();
    mark('oci: released');
    return rec;
  } catch (err) {
    abort(store, o.id); // a monitor reading its control FIFO kills the init at once
    // ... and one that is not there yet (or stalls before) is ended through its helper
    if (helper) await helper.end();
    await untilGone(() => isMonitorAlive(store.monitor(o.id).monitorPid)).catch(() => undefined);
    try {
      if (made) cgroup.remove();
    } finally {
      store.remove(o.id);
    }
    throw err;
  }
}

/**
 * The process's capabilities and seccomp filter. security.ts, with the seccomp compiler, is loaded
 * only for a config with a filter: building the compiler's tables costs ~1.7 ms of CPU (measured
 * 2026-12-05 on the 2-core dev VM), which a create without linux.seccomp no longer pays.
 */
function securityOf(config: OciConfig): ProcessSecurity {
  if (!config.seccomp) return { caps: config.process.caps };
  return (require('./security') as typeof import('./security')).ociSecurity(config);
}

/**
 * runc writes the pid file whole (temp file, rename): a reader never sees half of it. The temp file
 * is made anew (O_EXCL: a symlink planted at its name is never followed) and the rename replaces
 * whatever is at `file`, a symlink included, without following it.
 */
export function writePidFile(file: string, pid: number): void {
  const abs = outputFile(file, '--pid-file', { follow: false });
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}`);
  fs.rmSync(tmp, { force: true }); // a stale one (or a link in its place): unlink never follows
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  try {
    fs.writeSync(fd, String(pid));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, abs);
}

/** The helper's fds: the spec on 3, events on 4, 5 free for its control FIFO, then the preserved ones. */
const FIRST_PRESERVED_FD = 6;

/** The helper a create started, and how this process lets it go or ends it. */
interface Helper {
  child: ChildProcess;
  /** writes the spec on its fd 3 and closes it: the helper reads it to its end, then goes on */
  send: (spec: Buffer) => void;
  exited: () => boolean;
  /** the create is done: the lifeline's byte, then its end (the helper no longer watches it); foreground: nothing */
  release: () => Promise<void>;
  /**
   * the create failed: the spec's pipe and the lifeline end (an unsent spec is an empty one: the
   * helper refuses it), in the foreground SIGKILL; resolves once it exited
   */
  end: () => Promise<void>;
}

/** Starts the helper (detached, unless in the foreground); it waits for its spec (send). */
function spawnHelper(
  store: OciStore,
  id: string,
  helperCache: string,
  how: { foreground: boolean; extraFds: number[] },
): Helper {
  const events = fs.openSync(
    store.eventsFile(id),
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW,
    0o600,
  );
  const helperPath = assetPath('box-helper', helperCache);
  let child: ChildProcess;
  try {
    child = spawn(helperPath, ['run'], {
      // fd 5 stays free for the control FIFO the helper makes; --preserve-fds' fds from 6 on, then the lifeline
      stdio: ['inherit', 'inherit', 'inherit', 'pipe', events, 'ignore', ...how.extraFds, 'pipe'],
      detached: !how.foreground,
      env: {},
    });
  } finally {
    fs.closeSync(events);
  }
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.on('exit', () => resolve());
    child.on('error', () => resolve());
  }).then(() => {
    exited = true;
  });
  const specPipe = child.stdio[3] as Socket;
  specPipe.on('error', () => undefined); // the helper gone: its exit says the rest
  const lifeline = child.stdio[FIRST_PRESERVED_FD + how.extraFds.length] as Socket;
  lifeline.on('error', () => undefined); // the helper gone: its exit says the rest
  if (!how.foreground) child.unref();
  return {
    child,
    send: (spec) => {
      // The helper starts once its input ends. A write the pipe took whole is in the kernel: closing
      // now ends it at once, where end() would only on a later turn of the event loop (~0.5-1 ms).
      specPipe.write(spec);
      if (specPipe.writableLength === 0) specPipe.destroy();
      else specPipe.end();
    },
    exited: () => exited,
    // the byte is in the helper's socket once written (then this end is closed: it would keep the helper);
    // in the foreground no byte: the helper watches the lifeline until start's go, which comes later
    release: () =>
      new Promise<void>((resolve) => {
        if (how.foreground) return resolve();
        lifeline.write('D', () => {
          lifeline.destroy();
          resolve();
        });
      }),
    end: async () => {
      specPipe.destroy();
      if (how.foreground) child.kill('SIGKILL');
      else lifeline.destroy();
      // a timer that keeps the event loop alive: the helper's exit (unref'd) does not
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise((resolve) => (timer = setTimeout(resolve, GONE_MS)))]);
      clearTimeout(timer);
    },
  };
}

/** Resolves once the helper's init exists and waits for `go` (and its terminal is at the console socket). */
async function awaitInit(
  store: OciStore,
  id: string,
  helper: Helper,
  how: { terminal: boolean; foreground: boolean },
): Promise<{ pid: number; monitorPid: number }> {
  const line = await waitForEvent(store, id, ['pid', 'error'], helper.exited);
  const [kind, a] = line.split(' ');
  if (kind !== 'pid') throw startError(line, '');
  const monitorPid = how.foreground ? helper.child.pid : await until(() => store.monitor(id).monitorPid, helper.exited);
  if (how.terminal) await awaitConsole(store, id, monitorPid ?? 0);
  return { pid: Number(a), monitorPid: monitorPid ?? 0 };
}

/** As runc, create returns once the pty master is at the console socket (its caller waits for it). */
async function awaitConsole(store: OciStore, id: string, monitorPid: number): Promise<void> {
  const sent = await waitForEvent(store, id, ['console', 'error'], () => !isMonitorAlive(monitorPid));
  if (sent !== 'console 1') throw new BoxError(`the container's setup failed before its terminal existed: ${sent}`);
}

/** `ready`: the init is set up in full, its createContainer hooks ran, and it waits for start. */
async function awaitSetUp(store: OciStore, id: string, monitorPid: number, terminal: boolean): Promise<void> {
  if (terminal) await awaitConsole(store, id, monitorPid);
  const line = await waitForEvent(store, id, ['ready', 'error'], () => !isMonitorAlive(monitorPid));
  if (line !== 'ready') throw startError(line, '');
}

function startError(line: string | undefined, command: string): BoxError {
  if (!line) return new BoxError('box-helper ended without saying how the start went');
  const [, stage, errno, ...text] = line.split(' ');
  // loaded here only: runtime/create.ts brings box run's whole module tree, which create never needs
  const { describeStartError } = require('../runtime/create') as typeof import('../runtime/create');
  return new BoxError(describeStartError({ stage, errno: Number(errno), text: text.join(' ') }, command));
}

/** The first status event of one of `kinds`, read again as soon as the events file changes. */
async function waitForEvent(store: OciStore, id: string, kinds: string[], gone: () => boolean): Promise<string> {
  const event = () => store.events(id).find((l) => kinds.includes(l.split(' ')[0]));
  const found = await until(event, gone, ANSWER_MS, store.eventsFile(id));
  if (found === undefined)
    throw startError(
      store.events(id).find((l) => l.startsWith('error ')),
      '',
    );
  return found;
}

/**
 * Looks at get() until it gives a value, gone() holds (one last look) or `ms` pass: every 2 ms, or
 * with `watched` (a file get() reads) whenever it changes (inotify, no poll's delay), at least
 * every 20 ms.
 */
async function until<T>(
  get: () => T | undefined,
  gone: () => boolean,
  ms = ANSWER_MS,
  watched?: string,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  let wake: () => void = () => undefined;
  const watcher = watched ? fs.watch(watched, { persistent: false }, () => wake()) : undefined;
  watcher?.on('error', () => undefined); // the file went (a failed create's cleanup): polling goes on
  try {
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (gone()) return get();
      if (Date.now() > deadline) throw new BoxError(`box-helper did not answer within ${ms / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, watcher ? 20 : 2);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    watcher?.close();
  }
}

async function untilGone(alive: () => boolean, ms = GONE_MS): Promise<void> {
  await until(
    () => (alive() ? undefined : true),
    () => false,
    ms,
  );
}

/** The control FIFO for writing, never through a symlink (ELOOP then, as for a missing monitor). */
function openControl(store: OciStore, id: string): number {
  const { O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;
  return fs.openSync(store.controlFifo(id), O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
}

/** Tells a created container's monitor to kill the waiting init (it then exits). */
function abort(store: OciStore, id: string): void {
  let fd: number;
  try {
    fd = openControl(store, id);
  } catch {
    return; // no FIFO, or nobody holds it: no monitor waits
  }
  try {
    fs.writeSync(fd, 'abort\n');
  } catch {
    /* the monitor read its line already */
  } finally {
    fs.closeSync(fd);
  }
}

/** One line to a waiting monitor (its FIFO is there: create made it and the monitor holds it). */
function sendControl(store: OciStore, id: string, line: string): void {
  const fd = openControl(store, id);
  try {
    fs.writeSync(fd, `${line}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

export function ociStatus(store: OciStore, rec: OciRecord): OciStatus {
  return store.status(rec, () => cgroupOf(rec).freezerState() === 'frozen');
}

export async function ociStart(
  store: OciStore,
  id: string,
  warn: (m: string) => void = () => undefined,
): Promise<void> {
  const rec = store.need(id);
  const status = ociStatus(store, rec);
  if (status === 'stopped') throw new BoxError('cannot start a container that has stopped');
  if (status !== 'created') throw new BoxError('cannot start an already running container');
  let fd: number;
  try {
    fd = openControl(store, id);
  } catch (err) {
    if (errnoCode(err) === 'ENXIO') throw new BoxError(`container ${id}: its monitor is gone; delete it`);
    throw err;
  }
  try {
    fs.writeSync(fd, 'go\n');
  } finally {
    fs.closeSync(fd);
  }
  const line = await waitForEvent(store, id, ['started', 'error'], () => !isMonitorAlive(rec.monitorPid));
  if (line !== 'started') throw startError(line, rec.command);
  // The monitor exits right after `started`, which re-parents the container to the caller's
  // subreaper (runc's model): a shim or conmon that waits for the init as soon as start returned
  // must find it its child. Under load the monitor could still be there (its waitpid: ECHILD).
  await untilGone(() => isMonitorAlive(rec.monitorPid)).catch(() => undefined); // (it started regardless)
  await runHooks('poststart', rec.hooks.poststart, stateOf(rec, 'running'), false, warn);
}

export async function ociKill(store: OciStore, id: string, signal: number, all: boolean): Promise<void> {
  const rec = store.need(id);
  const status = ociStatus(store, rec);
  if (status === 'stopped') throw new BoxError('container not running');
  if (status === 'created') {
    // The init waits in the helper, which takes no signal but go or abort: any signal ends it.
    abort(store, id);
    await untilGone(() => isMonitorAlive(rec.monitorPid));
    return;
  }
  const { pidfdOpen, pidfdSendSignal } = require('../linux/syscalls') as typeof import('../linux/syscalls');
  const targets = all ? cgroupOf(rec).pids() : [rec.pid];
  for (const pid of targets) {
    let fd: number;
    try {
      fd = pidfdOpen(pid);
    } catch {
      continue; // gone meanwhile
    }
    try {
      // the pid was checked after the pidfd was taken: a recycled one is never signalled
      if (pid !== rec.pid || initAlive(rec)) pidfdSendSignal(fd, signal);
    } catch {
      /* gone meanwhile */
    } finally {
      fs.closeSync(fd);
    }
  }
}

export async function ociDelete(
  store: OciStore,
  id: string,
  force: boolean,
  warn: (m: string) => void = () => undefined,
): Promise<void> {
  const rec = store.get(id);
  if (!rec) {
    // a create killed before it recorded the container leaves its directory and maybe its
    // cgroup (its helper ended itself: native/PROTOCOL.md `lifeline`): --force takes them
    if (force) {
      const cgroupPath = store.cgroupPathOf(id);
      try {
        if (cgroupPath) cgroupAt(detectCgroups(), cgroupPath).remove();
      } finally {
        store.remove(id);
      }
      return;
    }
    throw new BoxError(`container does not exist: ${id}`);
  }
  const status = ociStatus(store, rec);
  const cgroup = cgroupOf(rec);
  // A monitor still waiting for go (whatever the init's state) must hear abort, or it waits for
  // ever; once it read its line no process holds the FIFO and this is a no-op.
  abort(store, id);
  if (status === 'running' || status === 'paused') {
    if (!force) throw new BoxError(`cannot delete container ${id} that is not stopped: ${status}`);
    cgroup.killAll();
    if (status === 'paused') cgroup.requestFreeze(false); // a frozen task dies of SIGKILL once thawed
  }
  await untilGone(() => initAlive(rec) || isMonitorAlive(rec.monitorPid));
  await runHooks('poststop', rec.hooks.poststop, stateOf(rec, 'stopped'), false, warn);
  cgroup.remove();
  store.remove(id);
}

/** The runtime-spec's state, with runc's additions (rootfs, created, owner). */
export function ociState(store: OciStore, id: string): Record<string, unknown> {
  const rec = store.need(id);
  return stateOf(rec, ociStatus(store, rec));
}

function stateOf(
  rec: Pick<OciRecord, 'ociVersion' | 'id' | 'pid' | 'bundle' | 'rootfs' | 'created' | 'annotations'>,
  status: OciStatus | 'creating',
): Record<string, unknown> {
  return {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    annotations: rec.annotations,
    owner: '',
  };
}

export function ociPids(store: OciStore, id: string): number[] {
  return cgroupOf(store.need(id)).pids();
}

/** pause/resume: the cgroup freezer (the monitor is outside the cgroup and keeps running). */
export async function ociFreeze(store: OciStore, id: string, pause: boolean): Promise<void> {
  const rec = store.need(id);
  const status = ociStatus(store, rec);
  if (pause && status !== 'running') throw new BoxError(`container not running: ${id} is ${status}`);
  if (!pause && status !== 'paused') throw new BoxError(`container not paused: ${id} is ${status}`);
  const cgroup = cgroupOf(rec);
  if (pause) await (require('../linux/freezer') as typeof import('../linux/freezer')).freeze(cgroup);
  else cgroup.requestFreeze(false);
}

/**
 * `update`: new cgroup limits for a container, checked against what the host enforces and written
 * in an order the kernel accepts (the cgroup manager's writeLimits), then recorded. The policies
 * that admitted it are not asked again (box update's re-admission is not wired up here yet).
 */
export function ociUpdate(store: OciStore, id: string, changed: CgroupLimits): void {
  const rec = store.need(id);
  if (ociStatus(store, rec) === 'stopped') throw new BoxError(`cannot update a stopped container: ${id}`);
  const limits = { ...rec.limits, ...changed };
  checkLimits(detectCgroups(), limits);
  cgroupOf(rec).writeLimits(limits, changed);
  store.save({ ...rec, limits });
}

/** The limits of every container of this root that is not stopped (admission's committed resources). */
export function ociCommitted(store: OciStore): CgroupLimits[] {
  return store.ids().flatMap((id) => {
    try {
      const rec = store.get(id);
      return rec && ociStatus(store, rec) !== 'stopped' ? [rec.limits ?? {}] : [];
    } catch {
      return []; // being created or deleted right now
    }
  });
}
