// `box run` in the foreground: create the container, start it through box-helper, wait for it,
// and release everything it held, whichever way it ended.
import { BoxError } from '../errors';
import { mark } from '../util/trace';
import { createContainer, CreateRequest, describeBytes, describeStartError, release } from './create';
import { appendEvent } from './events';
import { runHelper } from './helper';

export { requireRoot } from './create';
export type RunRequest = CreateRequest;

export async function runForeground(req: CreateRequest): Promise<number> {
  const c = await createContainer(req);
  const { containers, record, cgroup } = c;
  const config = record.config;
  let exitCode = 125;
  try {
    const result = await runHelper(c.helperPath, c.spec.encode(), {
      stdin: config.openStdin || config.tty ? 'inherit' : 'ignore',
      onPid: () => mark('container cloned'),
      // Running once the hook let it go on: an aborted start is a failed one (status created).
      onInitReady: async (pid) => {
        await req.onInitReady?.(pid);
        containers.setState(record, { status: 'running', pid, startedAt: new Date().toISOString() });
        appendEvent(req.roots, 'start', record);
      },
      onStarted: () => mark('command started'),
    });
    mark('container exited');
    exitCode = result.exitCode;
    const oomKilled = cgroup.oomKilled();
    if (result.error) req.warn(describeStartError(result.error, config.args[0]));
    else if (result.helperSignal) req.warn(`the container's monitor was killed by ${result.helperSignal}; the container was stopped`);
    if (result.started) {
      if (oomKilled) appendEvent(req.roots, 'oom', record);
      appendEvent(req.roots, 'die', record, { exitCode });
    }
    if (oomKilled && exitCode === 137) req.warn(`container ${record.name} was killed by the OOM killer (memory limit ${describeBytes(config.limits.memory)})`);
    if (!record.autoRemove) {
      containers.setState(record, {
        status: result.error && !result.started ? 'created' : 'exited',
        exitCode,
        oomKilled,
        error: result.error?.text,
        pid: undefined,
        finishedAt: new Date().toISOString(),
      });
    }
  } catch (err) {
    exitCode = err instanceof BoxError ? err.exitCode : 125;
    throw err;
  } finally {
    release(c);
    mark('cleaned up');
  }
  return exitCode;
}
