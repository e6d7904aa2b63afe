// `compose up`, in one box process: the project converged under its lock (containers whose
// configuration hash or image changed are recreated, missing ones created, extra replicas and, if
// asked, orphans removed), every new container admitted by the policies before any container of
// the project is touched, then services started concurrently, each once its dependencies meet
// their conditions (started, healthy, completed successfully), replicas together.
import { BoxError } from '../errors';
import { ImageStore } from '../image/store';
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import type { AdmissionFlags } from '../policy/admission';
import { ContainerStore } from '../runtime/containers';
import { checkRequest, createRecord, CreateRequest } from '../runtime/create';
import { startExisting } from '../runtime/detach';
import { refresh, removeContainer, stopContainer } from '../runtime/lifecycle';
import { parsePullMode, pullFirst } from '../runtime/pull-first';
import { renameContainer } from '../runtime/rename';
import { runFlagsFrom } from '../runtime/run-flags';
import { parseLogOpts } from '../runtime/log-options';
import { Condition, Project, replicasOf, stopGraceSeconds } from './model';
import { lockProject, ProjectContainer, projectContainers } from './project-containers';
import { configHash, LABEL, serviceRun } from './service-flags';
import { serviceOrder, waitCondition } from './conditions';
import { connectOtherNetworks, ensureNetworks, removeProjectNetworks } from './networks';
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
  /** `create`: converge, but start nothing */
  noStart?: boolean;
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

interface Action {
  service: string;
  number: number;
  /** the container it replaces (renamed aside while the new one is admitted) */
  replaces?: ContainerRecord;
  created?: ContainerRecord;
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
    const madeNetworks = await ensureNetworks(roots, project, selected, o.progress);
    let madeVolumes: string[] = [];
    try {
      madeVolumes = await ensureVolumes(roots, project, selected, o.progress);
      await admitAll(roots, store, project, actions, o);
    } catch (err) {
      const quiet = () => undefined;
      await removeProjectVolumes(roots, project.name, quiet, madeVolumes).catch(quiet);
      await removeProjectNetworks(roots, project.name, quiet, madeNetworks).catch(quiet);
      throw err;
    }
    // Admitted: from here on the project changes. Replaced and surplus containers go first.
    for (const old of [...actions.flatMap((a) => (a.replaces ? [a.replaces] : [])), ...surplus]) {
      await stopContainer(roots, store, old, stopGraceSeconds(project, old.config.labels[LABEL.service] ?? ''));
      await removeContainer(roots, store, old, true);
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
  const orphans = existing.filter((c) => !project.services[c.service]);
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

/** The creation request of one container of a service, as `box run` would make it. */
export function requestFor(
  roots: Roots,
  project: Project,
  svc: string,
  n: number,
  o: Pick<UpOptions, 'admission' | 'warn'>,
  oneoff = false,
) {
  const run = serviceRun(project, svc, n, oneoff);
  const flags = runFlagsFrom(run.flags);
  const req: CreateRequest = {
    roots,
    image: run.image,
    command: run.command,
    flags,
    admission: o.admission,
    warn: o.warn,
  };
  return req;
}

/**
 * Every new container recorded (so admitted by the policies) before anything else changes: a
 * container being replaced is renamed aside first, and named back if any admission fails. On a
 * failure every record made here goes again, and the error lists every service's reasons.
 */
async function admitAll(roots: Roots, store: ContainerStore, project: Project, actions: Action[], o: UpOptions) {
  const reqs = actions.map((a) => requestFor(roots, project, a.service, a.number, o));
  for (const [i, req] of reqs.entries()) {
    try {
      checkRequest(req); // every value of every service before any pull or record
    } catch (err) {
      throw new BoxError(`service "${actions[i].service}": ${(err as Error).message}`);
    }
  }
  const renamed: Action[] = [];
  const failures: string[] = [];
  try {
    for (const a of actions) {
      if (!a.replaces) continue;
      a.replaces = await renameContainer(roots, store, a.replaces, `${a.replaces.id.slice(0, 12)}_${a.replaces.name}`);
      renamed.push(a);
    }
    // Pulls first, one per service and one at a time (their progress stays readable); then every
    // container is created at once (each holds the store's lock from its pull until its record exists).
    const failed = new Set<string>();
    const fail = (a: Action, err: unknown) => {
      if (!(err instanceof BoxError)) throw err;
      failed.add(a.service);
      failures.push(`service "${a.service}": ${err.message}`);
    };
    for (const [i, a] of actions.entries()) {
      if (actions.findIndex((b) => b.service === a.service) !== i) continue;
      try {
        const status = await pullFirst(reqs[i], parsePullMode(reqs[i].flags.pull ?? 'missing'), o.pull);
        if (status !== 0) throw new BoxError(`pulling ${reqs[i].image} failed (exit ${status})`);
      } catch (err) {
        fail(a, err);
      }
    }
    await Promise.all(
      actions.map(async (a, i) => {
        const req = reqs[i];
        if (failed.has(a.service)) return req.storeLock?.release();
        try {
          if (!req.storeLock && (await pullFirst(req, 'missing', o.pull)) !== 0)
            throw new BoxError(`image ${req.image} is gone`);
          const { containers, record } = await createRecord(req);
          record.config.log = parseLogOpts(req.flags.logOpt);
          containers.save(record);
          a.created = record;
          await connectOtherNetworks(containers, project, a.service, record);
          a.created = containers.get(record.id) ?? record;
          o.progress(`Container ${record.name}  Created`);
        } catch (err) {
          fail(a, err);
        }
      }),
    );
    if (failures.length) throw new BoxError([...new Set(failures)].join('\nbox: '));
  } catch (err) {
    for (const a of actions)
      if (a.created) await removeContainer(roots, store, a.created, true, true).catch(() => undefined);
    for (const a of renamed) {
      const original = a.replaces!.name.slice(13);
      await renameContainer(roots, store, a.replaces!, original).catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Starts the services, each as soon as its dependencies meet their conditions; all replicas of a
 * service together. The first failure stops what has not started yet and is thrown once the rest
 * settled; a dependency with `required: false` that fails is only a warning.
 */
async function startInOrder(
  roots: Roots,
  store: ContainerStore,
  project: Project,
  result: UpResult,
  recreated: Set<string>,
  o: UpOptions,
) {
  let failed: BoxError | undefined;
  const started = new Map<string, Promise<void>>();
  const reported = new Set<string>();
  const startService = async (svc: string): Promise<void> => {
    // --no-deps: what the service depends on is neither started nor waited for, as docker compose
    const deps = o.noDeps ? [] : Object.entries(project.services[svc].depends_on ?? {});
    await Promise.all(
      deps.map(async ([dep, d]) => {
        if (started.has(dep)) await started.get(dep);
        const records =
          result.get(dep) ??
          projectContainers(store, project.name)
            .filter((c) => c.service === dep && !c.oneoff)
            .map((c) => c.record);
        try {
          await waitCondition(roots, store, dep, records, d.condition as Condition);
          if (d.condition !== 'service_started' && !reported.has(`${dep} ${d.condition}`)) {
            reported.add(`${dep} ${d.condition}`);
            o.progress(`Service ${dep}  ${conditionWord(d.condition)}`);
          }
        } catch (err) {
          if (!(err instanceof BoxError) || d.required) throw err;
          o.warn(`${err.message} (service "${svc}" starts all the same: the dependency is not required)`);
        }
      }),
    );
    if (failed) return;
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
