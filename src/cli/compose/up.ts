// `box compose up`: create and start the project's services (compose/up.ts) in this one process,
// then either return (-d, with --wait until they are ready) or follow their output, prefixed by
// container, until they stop. Ctrl-C stops them gracefully, a second Ctrl-C kills them.
import * as os from 'node:os';
import { BoxError } from '../../errors';
import { interrupted, waitReady } from '../../compose/conditions';
import { up, UpResult } from '../../compose/up';
import { ContainerStore } from '../../runtime/containers';
import { followLog } from '../../runtime/follow-log';
import { killContainer, refresh, stopContainer, waitFinalized } from '../../runtime/lifecycle';
import { projectContainers } from '../../compose/project-containers';
import { readLog } from '../../runtime/logs';
import { logFile } from '../../runtime/monitor-state';
import { admissionFlagsFrom, POLICY_FLAGS } from '../../runtime/run-flags';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, list, str } from '../args';
import { pullWithProgress } from '../container/run';
import { roots } from '../context';
import { PrefixPrinter, progress, SERVICES } from './common';
import { loadComposeProject, warn } from './context';
import { Project, stopGraceSeconds } from '../../compose/model';

const flag = (names: string[], key: string, description: string) => ({
  names,
  key,
  kind: 'bool' as const,
  description,
});

export const upCommand: CommandSpec = {
  paths: [['compose', 'up']],
  summary: 'Create and start the services, each once its dependencies meet their conditions.',
  flags: [
    flag(['--detach', '-d'], 'detach', 'run in the background'),
    flag(['--wait'], 'wait', 'with -d: wait until the services run (healthy) and one-shot services completed'),
    { names: ['--wait-timeout'], key: 'waitTimeout', kind: 'string', value: 'seconds', description: 'bound of --wait' },
    flag(['--force-recreate'], 'forceRecreate', 'recreate containers even if their configuration did not change'),
    flag(['--no-recreate'], 'noRecreate', 'keep existing containers even if their configuration changed'),
    flag(
      ['--renew-anon-volumes', '-V'],
      'renewAnonVolumes',
      "recreated containers get new anonymous volumes instead of the old containers' ones",
    ),
    flag(['--no-deps'], 'noDeps', 'do not start the services the named ones depend on'),
    flag(['--remove-orphans'], 'removeOrphans', 'remove containers of services the files no longer have'),
    {
      names: ['--scale'],
      key: 'scale',
      kind: 'list',
      value: 'SERVICE=N',
      description: 'number of containers of a service',
    },
    flag(['--abort-on-container-exit'], 'abortOnExit', 'stop every container when one stops'),
    {
      names: ['--exit-code-from'],
      key: 'exitCodeFrom',
      kind: 'string',
      value: 'service',
      description: "exit with this service's exit code (implies --abort-on-container-exit)",
    },
    ...POLICY_FLAGS,
  ],
  positionals: [SERVICES],
  async run(a) {
    if (bool(a, 'forceRecreate') && bool(a, 'noRecreate'))
      throw new BoxError('--force-recreate and --no-recreate cannot be combined');
    const detach = bool(a, 'detach');
    const exitCodeFrom = str(a, 'exitCodeFrom');
    const abortOnExit = bool(a, 'abortOnExit') || exitCodeFrom !== undefined;
    if (detach && abortOnExit)
      throw new BoxError('-d cannot be combined with --abort-on-container-exit or --exit-code-from');
    if (bool(a, 'wait') && !detach) throw new BoxError('--wait needs -d (it returns once the services are up)');
    const timeout = str(a, 'waitTimeout');
    const deadline =
      timeout === undefined ? Infinity : Date.now() + 1000 * parseNonNegativeInt('--wait-timeout', timeout);
    const scale: Record<string, number> = {};
    for (const s of list(a, 'scale')) {
      const m = /^([^=]+)=(\d+)$/.exec(s);
      if (!m) throw new BoxError(`invalid --scale "${s}": expected SERVICE=N`);
      scale[m[1]] = Number(m[2]);
    }
    const project = loadComposeProject(a.positionals);
    if (exitCodeFrom !== undefined && !project.services[exitCodeFrom])
      throw new BoxError(`--exit-code-from: no such service: ${exitCodeFrom}`);
    const r = roots();
    const store = new ContainerStore(r);
    // Ctrl-C while the services start: nothing more starts, what did is stopped (a second one kills it)
    const abort = new AbortController();
    let interrupts = 0;
    const onSignal = () => {
      if (interrupts++ === 0) {
        progress('Gracefully stopping... (press Ctrl+C again to force)');
        abort.abort();
      } else void stopProject(store, project, true);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result: UpResult;
    try {
      result = await up(r, project, {
        services: a.positionals,
        noDeps: bool(a, 'noDeps'),
        forceRecreate: bool(a, 'forceRecreate'),
        noRecreate: bool(a, 'noRecreate'),
        removeOrphans: bool(a, 'removeOrphans'),
        renewAnonVolumes: bool(a, 'renewAnonVolumes'),
        scale,
        admission: admissionFlagsFrom(a.flags),
        pull: pullWithProgress(undefined),
        progress,
        warn,
        signal: abort.signal,
      });
      if (detach && bool(a, 'wait')) await waitReady(r, store, result, deadline, abort.signal);
      if (abort.signal.aborted) throw interrupted(); // after the last start: it is stopped all the same
    } catch (err) {
      if (!abort.signal.aborted) throw err;
      await stopProject(store, project, interrupts > 1);
      return 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (detach) return 0;
    return attached(project, store, result, abortOnExit, exitCodeFrom);
  },
};

/** Follows every container's output until all stopped; Ctrl-C stops them, a second one kills them. */
async function attached(
  project: Project,
  store: ContainerStore,
  result: UpResult,
  abortOnExit: boolean,
  exitCodeFrom?: string,
) {
  const r = store.roots;
  const all = [...result.entries()].flatMap(([svc, records]) => records.map((rec) => ({ svc, rec })));
  const grace = new Map(all.map(({ svc }) => [svc, stopGraceSeconds(project, svc)]));
  const printer = new PrefixPrinter(all.map((c) => c.rec.name));
  let interrupts = 0;
  let stopping: Promise<unknown> | undefined;
  const stopAll = (kill: boolean) =>
    Promise.allSettled(
      all.map(({ svc, rec }) => {
        const cur = store.get(rec.id);
        if (cur?.state.status !== 'running') return undefined;
        if (kill) return killContainer(r, store, cur, os.constants.signals.SIGKILL);
        return stopContainer(r, store, cur, grace.get(svc) ?? 10);
      }),
    );
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      progress('Gracefully stopping... (press Ctrl+C again to force)');
      stopping = stopAll(false);
    } else stopping = stopAll(true);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let firstExit: number | undefined;
  try {
    const codes = await Promise.all(
      all.map(async ({ svc, rec }) => {
        const { entries, cursor } = readLog(logFile(store.dir(rec.id)));
        printer.print(rec.name, entries);
        const ended = await followLog(r, store, rec, cursor, (e) => printer.print(rec.name, e));
        const code = (await waitFinalized(r, store, ended, 10_000))?.state.exitCode ?? 0;
        progress(`${rec.name} exited with code ${code}`);
        firstExit ??= code;
        if (abortOnExit && !stopping) {
          progress('Aborting on container exit...');
          stopping = stopAll(false);
        }
        return { svc, code };
      }),
    );
    await stopping;
    if (interrupts > 0) return 130; // as docker compose: ended by Ctrl-C (128 + SIGINT)
    if (exitCodeFrom !== undefined) return codes.find((c) => c.svc === exitCodeFrom)?.code ?? 0;
    return abortOnExit ? (firstExit ?? 0) : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Stops (or kills) the project's running containers, all at once: an interrupted up's end. */
async function stopProject(store: ContainerStore, project: Project, kill: boolean): Promise<void> {
  const r = store.roots;
  await Promise.allSettled(
    projectContainers(store, project.name).map(async ({ record, service }) => {
      const cur = await refresh(r, store, record);
      if (cur.state.status !== 'running') return;
      if (kill) await killContainer(r, store, cur, os.constants.signals.SIGKILL);
      else await stopContainer(r, store, cur, stopGraceSeconds(project, service));
      progress(`Container ${cur.name}  Stopped`);
    }),
  );
}
