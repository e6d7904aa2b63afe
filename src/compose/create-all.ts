// The creation phase of `compose up`: every new container of the project recorded (and so admitted
// by the policies, through `box run`'s own createRecord) before anything else changes, or none.
import { BoxError } from '../errors';
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import type { AdmissionFlags } from '../policy/admission';
import { ContainerStore } from '../runtime/containers';
import { checkRequest, createRecord, CreateRequest } from '../runtime/create';
import { removeContainer } from '../runtime/lifecycle';
import { parseLogOpts } from '../runtime/log-options';
import { parsePullMode, pullFirst } from '../runtime/pull-first';
import { renameContainer } from '../runtime/rename';
import { runFlagsFrom } from '../runtime/run-flags';
import type { Project } from './model';
import { connectOtherNetworks } from './networks';
import { serviceRun } from './service-flags';

/** A container `up` creates: number `number` of `service`, maybe in place of an existing one. */
export interface Action {
  service: string;
  number: number;
  /** the container it replaces (renamed aside while the new one is admitted) */
  replaces?: ContainerRecord;
  created?: ContainerRecord;
}

/** What creating needs of up's options. */
export interface CreateOptions {
  admission?: AdmissionFlags;
  pull: (image: string, why: 'missing' | 'always') => Promise<number>;
  progress: (line: string) => void;
  warn: (msg: string) => void;
  /** -V: a recreated container gets new anonymous volumes instead of its predecessor's */
  renewAnonVolumes?: boolean;
}

/** The creation request of one container of a service, as `box run` would make it. */
export function requestFor(
  roots: Roots,
  project: Project,
  svc: string,
  n: number,
  o: Pick<CreateOptions, 'admission' | 'warn'>,
  oneoff = false,
): CreateRequest {
  const run = serviceRun(project, svc, n, oneoff);
  const flags = runFlagsFrom(run.flags);
  return { roots, image: run.image, command: run.command, flags, admission: o.admission, warn: o.warn };
}

/** A container's anonymous volumes by target: what its successor takes over, as Docker Compose's. */
function anonymousVolumes(record: ContainerRecord): Record<string, string> {
  const anonymous = (record.config.mounts ?? []).filter((m) => m.type === 'volume' && m.anonymous);
  return Object.fromEntries(anonymous.map((m) => [m.target, m.source]));
}

/**
 * Every new container recorded (so admitted by the policies) before anything else changes: a
 * container being replaced is renamed aside first, and named back if any admission fails. On a
 * failure every record made here goes again, and the error lists every service's reasons.
 */
export async function createAll(
  roots: Roots,
  store: ContainerStore,
  project: Project,
  actions: Action[],
  o: CreateOptions,
) {
  const reqs = actions.map((a) => {
    const req = requestFor(roots, project, a.service, a.number, o);
    if (a.replaces && !o.renewAnonVolumes) req.reuseAnonymous = anonymousVolumes(a.replaces);
    return req;
  });
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
    const firsts = new Set<number>();
    for (const [i, a] of actions.entries()) {
      if (actions.findIndex((b) => b.service === a.service) !== i) continue;
      firsts.add(i);
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
          // the other replicas: the image is there now (or never to be pulled); this takes the store's lock
          const mode = req.flags.pull === 'never' ? 'never' : 'missing';
          if (!firsts.has(i) && (await pullFirst(req, mode, o.pull)) !== 0)
            throw new BoxError(`image ${req.image} is gone`);
          req.recordConfig = { log: parseLogOpts(req.flags.logOpt) };
          const { containers, record } = await createRecord(req);
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
