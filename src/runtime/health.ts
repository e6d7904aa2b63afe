// Health checks of detached containers (scheduled by the native monitor). Filled in by the health
// check work; these are the hooks the rest of box calls.
import { ContainerRecord } from './model';
import { SpecArg } from './spec';

/** Helper spec ops that make the monitor run the container's health check, if it has one. */
export function healthSpecOps(_record: ContainerRecord, _roots: { root: string; runroot: string }): [string, ...SpecArg[]][] {
  return [];
}

/** State.Health of `box inspect`, or undefined for a container without a health check. */
export function healthForInspect(_record: ContainerRecord, _roots: { root: string; runroot: string }): Record<string, unknown> | undefined {
  return undefined;
}

/** " (healthy)", " (unhealthy)", " (health: starting)" or "" for `box ps`. */
export function healthSuffix(_record: ContainerRecord, _roots: { root: string; runroot: string }): string {
  return '';
}
