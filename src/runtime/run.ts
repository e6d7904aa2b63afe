// `box run` in the foreground: create the container, start it through box-helper, wait for it,
// and release everything it held, whichever way it ended. It owns the container (owner.ts) for its
// life: if it is killed, the next box command stops the container and records its end.
import { BoxError } from '../errors';
import { mark } from '../util/trace';
import { createContainer, CreateRequest, describeBytes, describeStartError, initHook, release } from './create';
import { releaseNetworks } from './networks';
import { appendEvent } from './events';
import { runHelper } from './helper';
import type { Lock } from '../image/locks';
import { removeRuntimeDir } from './monitor-state';
import { holdOwnership, markInitReleased } from './owner';

export { requireRoot } from './create';
export type RunRequest = CreateRequest;

export async function runForeground(req: CreateRequest): Promise<number> {
  req.keepStoreLock = true; // released once the container has started: no prune takes it before
  const c = await createContainer(req);
  const storeLock = req.storeLock;
  const { containers, record, cgroup } = c;
  const config = record.config;
  let exitCode = 125;
  let owner: Lock | undefined;
  try {
    owner = holdOwnership(req.roots, record.id);
    c.lock.release(); // the owner lock says from now on that a live box run answers for the container
    const hook = initHook(c, req.onInitReady); // the host's work on the waiting init (a throw aborts the start)
    if (!hook) markInitReleased(req.roots, record.id); // the helper lets it go at once
    const result = await runHelper(c.helperPath, c.spec.encode(), {
      stdin: config.openStdin || config.tty ? 'inherit' : 'ignore',
      output: req.output,
      onPid: (pid, helperPid) => {
        // the helper is the init's parent: stop and kill signal the container through it, as a monitor's
        const owned = { monitorPid: helperPid, ownerPid: process.pid };
        containers.setState(record, { status: 'running', pid, ...owned, startedAt: new Date().toISOString() });
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
        finishedAt: new Date().toISOString(),
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
