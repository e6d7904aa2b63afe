// `compose up`, in one box process: the project converged under its lock (containers whose
// configuration hash or image changed are recreated, missing ones created, extra replicas and, if
// asked, orphans removed; a recreated container takes over its predecessor's anonymous volumes
// unless -V), every new container admitted by the policies before any container of
// the project is touched (create-all.ts), then services started concurrently, each once its
// dependencies meet their conditions, replicas together (start-order.ts).
import { BoxError } from '../errors';
import { ImageStore } from '../image/store';
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import type { AdmissionFlags } from '../policy/admission';
import { ContainerStore } from '../runtime/containers';
import { removeContainer, stopContainer } from '../runtime/lifecycle';
import { Action, createAll } from './create-all';
import { Project, replicasOf, stopGraceSeconds } from './model';
import { lockProject, ProjectContainer, projectContainers } from './project-containers';
import { configHash, LABEL } from './service-flags';
import { ensureNetworks, removeProjectNetworks } from './networks';
import { startInOrder } from './start-order';
import { ensureVolumes, removeProjectVolumes } from './volumes';

export interface UpOptions {
  /** services named on the command line; none: all */
  services: string[];
  noDeps: boolean;
  forceRecreate: boolean;
  noRecreate: boolean;
  removeOrphans: boolean;
  /** --scale SERVICE=N */
  scale: Record<string, number>;
  admission?: AdmissionFlags;
  /** pulls an image for a container's creation (the CLI's, with its progress) */
  pull: (image: string, why: 'missing' | 'always') => Promise<number>;
  /** progress lines ("Container p-web-1  Started") */
  progress: (line: string) => void;
  warn: (msg: string) => void;
  /** Ctrl-C during the start: nothing more is started and the waits end */
  signal?: AbortSignal;
  /** `create`: converge, but start nothing */
  noStart?: boolean;
  /** -V: recreated containers get new anonymous volumes (by default they take over the old ones) */
  renewAnonVolumes?: boolean;
}

/** What `up` started: each selected service's containers, in number order. */
export type UpResult = Map<string, ContainerRecord[]>;

/** The services to bring up: those named and, unless --no-deps, what they depend on. */
export function selectServices(project: Project, named: string[], noDeps: boolean): string[] {
  for (const s of named) if (!project.services[s]) throw new BoxError(`no such service: ${s}`);
  if (!named.length) return Object.keys(project.services);
  const out = new Set<string>();
  const add = (s: string) => {
    if (out.has(s)) return;
    out.add(s);
    if (!noDeps) for (const d of Object.keys(project.services[s].depends_on ?? {})) add(d);
  };
  for (const s of named) add(s);
  return [...out];
}

export async function up(roots: Roots, project: Project, o: UpOptions): Promise<UpResult> {
  const selected = selectServices(project, o.services, o.noDeps);
  for (const [s, n] of Object.entries(o.scale)) {
    if (!project.services[s]) throw new BoxError(`--scale: no such service: ${s}`);
    if (!Number.isInteger(n) || n < 0) throw new BoxError(`--scale ${s}=${n}: give a whole number`);
  }
  const store = new ContainerStore(roots);
  const lock = await lockProject(roots, project.name);
  try {
    const existing = projectContainers(store, project.name).filter((c) => !c.oneoff);
    await handleOrphans(roots, store, project, existing, o);
    const images = new ImageStore(roots);
    const keep = new Map<string, ContainerRecord[]>();
    const actions: Action[] = [];
    const surplus: ContainerRecord[] = [];
    for (const svc of selected) {
      const s = project.services[svc];
      const want = o.scale[svc] ?? replicasOf(s);
      if (s.container_name && want > 1)
        throw new BoxError(
          `service "${svc}" has container_name "${s.container_name}": it cannot have ${want} replicas`,
        );
      const hash = configHash(s);
      const imageId = images.resolve(s.image!);
      const mine = existing.filter((c) => c.service === svc);
      keep.set(svc, []);
      for (let n = 1; n <= want; n++) {
        const c = mine.find((m) => m.number === n);
        if (!c) actions.push({ service: svc, number: n });
        else if (o.forceRecreate || (!o.noRecreate && changed(c, hash, imageId)))
          actions.push({ service: svc, number: n, replaces: c.record });
        else keep.get(svc)!.push(c.record);
      }
      surplus.push(...mine.filter((m) => m.number > want || m.number < 1).map((m) => m.record));
    }
    // What the containers need exists before they are admitted; what was made for them goes again on a refusal.
    const undoResources = await ensureResources(roots, project, selected, o.progress);
    try {
      await createAll(roots, store, project, actions, o);
    } catch (err) {
      await undoResources();
      throw err;
    }
    // Admitted: from here on the project changes. Replaced and surplus containers go first; a
    // replaced one's anonymous volumes that its successor did not take over (all, with -V) with it.
    const replaced = actions.flatMap((a) => (a.replaces ? [a.replaces] : []));
    for (const old of [...replaced, ...surplus]) {
      await stopContainer(roots, store, old, stopGraceSeconds(project, old.config.labels[LABEL.service] ?? ''));
      await removeContainer(roots, store, old, true, replaced.includes(old));
      o.progress(`Container ${old.name}  Removed`);
    }
    const result: UpResult = new Map();
    for (const svc of selected) {
      const made = actions.filter((a) => a.service === svc).map((a) => a.created!);
      result.set(
        svc,
        [...keep.get(svc)!, ...made].sort((a, b) => num(a) - num(b)),
      );
    }
    const recreated = new Set(actions.filter((a) => a.replaces).map((a) => a.service));
    if (!o.noStart) await startInOrder(roots, store, project, result, recreated, o);
    return result;
  } finally {
    lock.release();
  }
}

/**
 * Makes the networks and named volumes the services need (`up`, and `run` of a service); returns
 * what removes those it made, for a creation that failed.
 */
export async function ensureResources(
  roots: Roots,
  project: Project,
  services: string[],
  progress: (line: string) => void,
): Promise<() => Promise<void>> {
  const madeNetworks = await ensureNetworks(roots, project, services, progress);
  let madeVolumes: string[] = [];
  const undo = async () => {
    const quiet = () => undefined;
    await removeProjectVolumes(roots, project.name, quiet, madeVolumes).catch(quiet);
    await removeProjectNetworks(roots, project.name, quiet, madeNetworks).catch(quiet);
  };
  try {
    madeVolumes = await ensureVolumes(roots, project, services, progress);
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

const num = (r: ContainerRecord) => Number(r.config.labels[LABEL.number] ?? 0);

function changed(c: ProjectContainer, hash: string, imageId: string | undefined): boolean {
  return c.record.config.labels[LABEL.hash] !== hash || (imageId !== undefined && c.record.config.image.id !== imageId);
}

async function handleOrphans(
  roots: Roots,
  store: ContainerStore,
  project: Project,
  existing: ProjectContainer[],
  o: UpOptions,
): Promise<void> {
  // a service its profiles disable is still the project's: its containers are no orphans
  const orphans = existing.filter((c) => !project.services[c.service] && !project.disabledServices.includes(c.service));
  if (!orphans.length) return;
  if (!o.removeOrphans) {
    const names = orphans.map((c) => c.record.name).join(', ');
    o.warn(`found orphan containers (${names}) for project ${project.name}: remove them with --remove-orphans`);
    return;
  }
  for (const c of orphans) {
    await removeContainer(roots, store, c.record, true);
    o.progress(`Container ${c.record.name}  Removed`);
  }
}
