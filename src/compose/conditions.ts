// Waiting for a service's containers to meet a `depends_on` condition, or for `up --wait`: a
// state each container's monitor records (its start, its health, its exit), polled until it is
// met or can no longer be: a container that exits, or turns unhealthy, fails the wait with one
// line naming the service and its exit code or its last health check output.
import { setTimeout as delay } from 'node:timers/promises';
import { BoxError } from '../errors';
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import type { ContainerStore } from '../runtime/containers';
import { HealthState, healthOf, readHealth } from '../runtime/health';
import { refresh } from '../runtime/lifecycle';
import type { Condition, Project } from './model';

const POLL_MS = 50;

/** The services in an order where each comes after what it depends on (among `among`). */
export function serviceOrder(project: Project, among: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (s: string) => {
    if (seen.has(s)) return;
    seen.add(s);
    for (const d of Object.keys(project.services[s]?.depends_on ?? {})) if (among.includes(d)) visit(d);
    out.push(s);
  };
  for (const s of among) visit(s);
  return out;
}

/**
 * Resolves once every container of `service` meets `condition`; throws a BoxError saying why it
 * never will. `deadline` (ms since the epoch) bounds the wait (--wait-timeout).
 */
export async function waitCondition(
  roots: Roots,
  store: ContainerStore,
  service: string,
  records: ContainerRecord[],
  condition: Condition,
  deadline = Infinity,
  signal?: AbortSignal,
): Promise<void> {
  if (condition === 'service_started') return;
  if (!records.length) throw new BoxError(`dependency failed: service "${service}" has no container`, 1);
  await Promise.all(records.map((r) => waitOne(roots, store, service, r, condition, deadline, signal)));
}

async function waitOne(
  roots: Roots,
  store: ContainerStore,
  service: string,
  record: ContainerRecord,
  condition: Condition,
  deadline: number,
  signal?: AbortSignal,
): Promise<void> {
  if (condition === 'service_healthy' && !healthOf(record))
    throw new BoxError(`service "${service}" has no healthcheck, which its dependents' service_healthy needs`);
  for (;;) {
    const stored = store.get(record.id);
    if (!stored) throw new BoxError(`dependency failed: container ${record.name} of service "${service}" is gone`, 1);
    const cur = await refresh(roots, store, stored);
    const { status, exitCode, restarting } = cur.state;
    if (condition === 'service_completed_successfully') {
      if (status !== 'running' && !restarting && status !== 'created') {
        if (exitCode === 0) return;
        throw new BoxError(`service "${service}" didn't complete successfully: exit ${exitCode ?? 'unknown'}`, 1);
      }
    } else {
      if (status !== 'running' || restarting)
        throw new BoxError(`dependency failed: service "${service}" exited with code ${exitCode ?? 'unknown'}`, 1);
      const health = readHealth(roots, cur.id);
      if (health?.status === 'healthy') return;
      if (health?.status === 'unhealthy') throw unhealthy(service, health, 'dependency failed: ');
    }
    if (Date.now() >= deadline)
      throw new BoxError(`timed out waiting for service "${service}" (${conditionText(condition)})`, 1);
    if (signal?.aborted) throw interrupted();
    await delay(POLL_MS);
  }
}

function conditionText(c: Condition): string {
  return c === 'service_healthy' ? 'healthy' : c === 'service_completed_successfully' ? 'completed' : 'started';
}

/**
 * `up --wait`: every container runs (healthy where it has a health check), or has exited 0 when
 * it has no restart policy (a one-shot job). Throws naming the first service that fails.
 */
export async function waitReady(
  roots: Roots,
  store: ContainerStore,
  services: Map<string, ContainerRecord[]>,
  deadline: number,
  signal?: AbortSignal,
): Promise<void> {
  await Promise.all(
    [...services].flatMap(([svc, records]) =>
      records.map(async (r) => {
        const oneShot = !r.config.restart || r.config.restart.name === 'no';
        const checked = healthOf(r) !== undefined;
        for (;;) {
          const cur = await refresh(roots, store, store.get(r.id) ?? r);
          const { status, restarting, exitCode } = cur.state;
          if (status !== 'running' && !restarting) {
            if (oneShot && exitCode === 0) return;
            throw new BoxError(`service "${svc}" exited with code ${exitCode ?? 'unknown'}`, 1);
          }
          const health = checked ? readHealth(roots, cur.id) : undefined;
          if (status === 'running' && !restarting && (!checked || health?.status === 'healthy')) return;
          if (health?.status === 'unhealthy') throw unhealthy(svc, health);
          if (Date.now() >= deadline)
            throw new BoxError(`timed out waiting for service "${svc}" (${checked ? 'healthy' : 'running'})`, 1);
          if (signal?.aborted) throw interrupted();
          await delay(POLL_MS);
        }
      }),
    ),
  );
}

/** A wait ended by Ctrl-C (SIGINT, or SIGTERM): exit 130, as docker compose. */
export function interrupted(): BoxError {
  return new BoxError('interrupted', 130);
}

/** A service turned unhealthy, with the last line its health check printed. */
function unhealthy(service: string, health: HealthState, prefix = ''): BoxError {
  const last = health.log.at(-1)?.output.toString('utf8').trim().split('\n').at(-1) ?? '';
  return new BoxError(`${prefix}service "${service}" is unhealthy${last ? `: ${last}` : ''}`, 1);
}
