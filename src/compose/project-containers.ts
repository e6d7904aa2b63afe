// A compose project's containers, found by Docker Compose's labels (never by name, so a renamed
// or foreign-named container still belongs to its project), and the project's lock, held by
// whatever changes them: two concurrent `up` of one project end in one set of containers.
import { Lock, lockFile } from '../image/locks';
import type { ContainerRecord } from '../model';
import { lockPaths, Roots } from '../paths';
import type { ContainerStore } from '../runtime/containers';
import { LABEL } from './service-flags';

export interface ProjectContainer {
  record: ContainerRecord;
  service: string;
  number: number;
  oneoff: boolean;
}

function asProjectContainer(record: ContainerRecord): ProjectContainer {
  const labels = record.config.labels ?? {};
  return {
    record,
    service: labels[LABEL.service] ?? '',
    number: Number(labels[LABEL.number] ?? 0),
    oneoff: labels[LABEL.oneoff] === 'True',
  };
}

/** The containers of a project (one-off `run` containers too), by service, then number. */
export function projectContainers(store: ContainerStore, project: string): ProjectContainer[] {
  return store
    .list()
    .filter((r) => r.config.labels?.[LABEL.project] === project)
    .map(asProjectContainer)
    .sort((a, b) => (a.service === b.service ? a.number - b.number : a.service < b.service ? -1 : 1));
}

/** Every project with containers in the store, by name. */
export function allProjects(store: ContainerStore): Map<string, ProjectContainer[]> {
  const out = new Map<string, ProjectContainer[]>();
  for (const r of store.list()) {
    const name = r.config.labels?.[LABEL.project];
    if (name === undefined) continue;
    let list = out.get(name);
    if (!list) out.set(name, (list = []));
    list.push(asProjectContainer(r));
  }
  return out;
}

/** The project's lock: waited for, so a second `up` converges on what the first one made. */
export function lockProject(roots: Roots, project: string): Promise<Lock> {
  return lockFile(lockPaths.composeProject(roots, project));
}
