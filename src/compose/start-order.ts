// The start phase of `compose up`: services started concurrently, each as soon as its
// dependencies meet their conditions, all replicas of a service together.
import { BoxError } from '../errors';
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import type { ContainerStore } from '../runtime/containers';
import { startExisting } from '../runtime/detach';
import { refresh, stopContainer } from '../runtime/lifecycle';
import { interrupted, serviceOrder, waitCondition } from './conditions';
import { Condition, Project, stopGraceSeconds } from './model';
import { projectContainers } from './project-containers';

/** What starting needs of up's options. */
export interface StartOptions {
  noDeps: boolean;
  /** Ctrl-C: what is not started yet is not, and waits end (compose/conditions.ts's interrupted) */
  signal?: AbortSignal;
  progress: (line: string) => void;
  warn: (msg: string) => void;
}

/**
 * Starts the services, each as soon as its dependencies meet their conditions; all replicas of a
 * service together. The first failure stops what has not started yet and is thrown once the rest
 * settled; a dependency with `required: false` that fails is only a warning.
 */
export async function startInOrder(
  roots: Roots,
  store: ContainerStore,
  project: Project,
  result: Map<string, ContainerRecord[]>,
  recreated: Set<string>,
  o: StartOptions,
) {
  let failed: BoxError | undefined;
  const started = new Map<string, Promise<void>>();
  const reported = new Set<string>();
  const startService = async (svc: string): Promise<void> => {
    // --no-deps: what the service depends on is neither started nor waited for, as docker compose
    const deps = o.noDeps ? [] : Object.entries(project.services[svc].depends_on ?? {});
    await Promise.all(
      deps.map(async ([dep, d]) => {
        try {
          if (started.has(dep)) await started.get(dep);
          const records =
            result.get(dep) ??
            projectContainers(store, project.name)
              .filter((c) => c.service === dep && !c.oneoff)
              .map((c) => c.record);
          await waitCondition(roots, store, dep, records, d.condition, Infinity, o.signal);
          if (d.condition !== 'service_started' && !reported.has(`${dep} ${d.condition}`)) {
            reported.add(`${dep} ${d.condition}`);
            o.progress(`Service ${dep}  ${conditionWord(d.condition)}`);
          }
        } catch (err) {
          if (!(err instanceof BoxError) || d.required || o.signal?.aborted) throw err;
          o.warn(`${err.message} (service "${svc}" starts all the same: the dependency is not required)`);
        }
      }),
    );
    if (failed) return;
    if (o.signal?.aborted) throw interrupted();
    // depends_on's `restart: true`: a running container is restarted when such a dependency was recreated
    const restart = deps.some(([dep, d]) => d.restart && recreated.has(dep));
    await Promise.all(
      result.get(svc)!.map(async (r) => {
        const running = (await refresh(roots, store, store.get(r.id) ?? r)).state.status === 'running';
        if (running && !restart) {
          o.progress(`Container ${r.name}  Running`);
          return;
        }
        if (running) await stopContainer(roots, store, store.get(r.id) ?? r, stopGraceSeconds(project, svc));
        const code = await startExisting(roots, store, r, o.warn);
        if (code !== 0) throw new BoxError(`service "${svc}": container ${r.name} failed to start (exit ${code})`);
        o.progress(`Container ${r.name}  Started`);
      }),
    );
  };
  for (const svc of serviceOrder(project, [...result.keys()])) {
    const p = startService(svc).catch((err: unknown) => {
      failed ??= err instanceof BoxError ? err : new BoxError(String(err));
      throw failed;
    });
    p.catch(() => undefined); // awaited below and by dependents
    started.set(svc, p);
  }
  await Promise.allSettled(started.values());
  if (failed) throw failed;
  for (const [svc, records] of result)
    result.set(
      svc,
      records.map((r) => store.get(r.id) ?? r),
    );
}

function conditionWord(c: Condition): string {
  return c === 'service_healthy' ? 'Healthy' : c === 'service_completed_successfully' ? 'Completed' : 'Started';
}
