// `box system boot` for compose projects: a project's `always` and `unless-stopped` containers are
// started in dependency order, each once its dependencies meet their conditions, which the
// containers carry in Docker Compose's depends_on label (the compose file may not be readable at
// boot). podman loses `service_healthy` here; box waits for the health check as `up` does.
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import type { ContainerStore } from '../runtime/containers';
import { waitCondition } from './conditions';
import { projectContainers } from './project-containers';
import { dependenciesOf, LABEL } from './service-flags';

/**
 * Starts the project's boot candidates (`start` says whether one started); a service whose
 * dependency cannot meet its condition is not started, and `warn` says why. Returns the failures.
 */
export async function bootProject(
  roots: Roots,
  store: ContainerStore,
  project: string,
  candidates: ContainerRecord[],
  start: (r: ContainerRecord) => Promise<boolean>,
  warn: (msg: string) => void,
): Promise<number> {
  const byService = new Map<string, ContainerRecord[]>();
  for (const r of candidates) {
    const svc = r.config.labels[LABEL.service] ?? '';
    byService.set(svc, [...(byService.get(svc) ?? []), r]);
  }
  const all = projectContainers(store, project).filter((c) => !c.oneoff);
  let failures = 0;
  const started = new Map<string, Promise<void>>();
  const bootService = async (svc: string, seen: string[]): Promise<void> => {
    const deps = dependenciesOf(byService.get(svc)![0].config.labels);
    await Promise.all(
      deps.map(async (d) => {
        if (byService.has(d.service) && !seen.includes(d.service)) await startOf(d.service, [...seen, svc]);
        const records = all.filter((c) => c.service === d.service).map((c) => store.get(c.record.id) ?? c.record);
        await waitCondition(roots, store, d.service, records, d.condition);
      }),
    );
    const results = await Promise.all(byService.get(svc)!.map(start));
    failures += results.filter((ok) => !ok).length;
  };
  const startOf = (svc: string, seen: string[]): Promise<void> => {
    let p = started.get(svc);
    if (!p) {
      p = bootService(svc, seen).catch((err: Error) => {
        failures += byService.get(svc)!.length;
        warn(`project ${project}: service "${svc}" not started: ${err.message}`);
      });
      started.set(svc, p);
    }
    return p;
  };
  await Promise.all([...byService.keys()].map((svc) => startOf(svc, [])));
  return failures;
}
