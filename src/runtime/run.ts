// `box run` in the foreground: create the container, start it through box-helper, wait for it,
// and release everything it held, whichever way it ended. It owns the container (owner.ts) for its
// life: if it is killed, the next box command stops the container and records its end. Until
// then the helper, the container's parent, goes on relaying and logging its output.
import { BoxError } from '../errors';
import { mark } from '../util/trace';
import {
  createContainer,
  Created,
  CreateRequest,
  describeBytes,
  describeStartError,
  initHook,
  release,
} from './create';
import { releaseNetworks } from './networks';
import { appendEvent } from './events';
import { watchHangup } from './hangup';
import { OutputOption, runHelper } from './helper';
import type { Lock } from '../image/locks';
import { logFile, removeRuntimeDir } from './monitor-state';
import type { LogOptions } from './detach';
import { holdOwnership, markInitReleased } from './owner';
import { isoTime } from '../util/iso-time';

export { requireRoot } from './create';
export type RunRequest = CreateRequest;

/** log: the json-file options of the container's log (kept for its later starts too) */
export async function runForeground(req: CreateRequest, log?: LogOptions): Promise<number> {
  req.keepStoreLock = true; // released once the container has started: no prune takes it before
  const c = await createContainer(req);
  const storeLock = req.storeLock;
  const { containers, record, cgroup } = c;
  const config = record.config;
  if (log) config.log = log; // saved with the running state
  relayStdio(c, req.output);
  let exitCode = 125;
  let owner: Lock | undefined;
  // with a tty of the caller's: its hangup ends the container (hangup.ts)
  const attached = config.tty && (req.output ?? 'inherit') === 'inherit';
  const unwatch = attached ? watchHangup(() => cgroup.killAll()) : undefined;
  try {
    owner = holdOwnership(req.roots, record.id);
    c.lock.release(); // the owner lock says from now on that a live box run answers for the container
    const hook = initHook(c, req.onInitReady); // the host's work on the waiting init (a throw aborts the start)
    if (!hook) markInitReleased(req.roots, record.id); // the helper lets it go at once
    const result = await runHelper(c.helperPath, c.spec.encode(), {
      stdin: config.openStdin || config.tty ? 'inherit' : 'ignore', // with -i the helper reads it
      output: req.output,
      onPid: (pid, helperPid) => {
        // the helper is the init's parent: stop and kill signal the container through it, as a monitor's
        const owned = { monitorPid: helperPid, ownerPid: process.pid };
        containers.setState(record, { status: 'running', pid, ...owned, startedAt: isoTime() });
        storeLock?.release();
        appendEvent(req.roots, 'start', record);
      },
      onInitReady:
        hook &&
        (async (pid) => {
          await hook(pid);
          markInitReleased(req.roots, record.id);
        }),
    });
    mark('container exited');
    exitCode = result.exitCode;
    const oomKilled = cgroup.oomKilled();
    if (result.error) req.warn(describeStartError(result.error, config.args[0]));
    else if (result.helperSignal)
      req.warn(`the container's monitor was killed by ${result.helperSignal}; the container was stopped`);
    if (result.started) {
      if (oomKilled) appendEvent(req.roots, 'oom', record);
      appendEvent(req.roots, 'die', record, { exitCode });
    }
    if (oomKilled && exitCode === 137)
      req.warn(
        `container ${record.name} was killed by the OOM killer (memory limit ${describeBytes(config.limits.memory)})`,
      );
    if (!record.autoRemove) {
      containers.setState(record, {
        status: result.error && !result.started ? 'created' : 'exited',
        exitCode,
        oomKilled,
        error: result.error?.text,
        pid: undefined,
        monitorPid: undefined,
        ownerPid: undefined,
        finishedAt: isoTime(),
      });
    }
  } catch (err) {
    exitCode = err instanceof BoxError ? err.exitCode : 125;
    // the helper is gone (an aborted start): the record says created, as after a failed start
    if (!record.autoRemove) {
      containers.setState(record, { status: 'created', pid: undefined, monitorPid: undefined, ownerPid: undefined });
    }
    throw err;
  } finally {
    unwatch?.();
    c.lock.release();
    storeLock?.release();
    try {
      release(c);
      removeRuntimeDir(req.roots, record.id);
      await releaseNetworks(req.roots, record, req.warn);
    } finally {
      owner?.release(); // only once the end is recorded
    }
    mark('cleaned up');
  }
  return exitCode;
}

/**
 * The container's stdio (native/PROTOCOL.md "Foreground stdio"). Without a tty it gets pipes that
 * its helper relays to box's own stdio (stdin only with -i), never box's descriptors: through
 * /proc/self/fd root in it could chmod, chown or truncate the caller's file or terminal. The helper
 * writes what it relays (or the tty's output) to the container's log too, as a monitor does, so
 * `box logs` shows a foreground run's output; not with --rm, whose log nothing could read after.
 * A build step's output (a function of box's, or nothing) never reaches a caller's file.
 */
function relayStdio(c: Created, output: OutputOption | undefined): void {
  if ((output ?? 'inherit') !== 'inherit') return;
  const { record, spec } = c;
  if (!record.config.tty) {
    spec.op('relay');
    if (record.config.openStdin) spec.op('stdin');
  }
  if (record.autoRemove) return;
  const log = record.config.log ?? { maxSize: 0, maxFile: 1 };
  spec.op('log', logFile(c.containers.dir(record.id)), log.maxSize, log.maxFile);
}
