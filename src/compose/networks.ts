// A project's networks as box bridge networks: `<project>_<key>` (or the declared name), made by
// `up` when missing and labelled with the project, so `down` removes exactly the project's own;
// external networks must exist. A service joins its first network when its container is created
// (`box run --network`) and its other ones before it starts (`box network connect`'s code).
import { BoxError } from '../errors';
import type { ContainerRecord } from '../model';
import type { Roots } from '../paths';
import { connect } from '../network/connect';
import { removeNetwork } from '../network/manage';
import { syncRuleset } from '../network/setup';
import { NetworkStore } from '../network/store';
import { ContainerStore } from '../runtime/containers';
import { networksByPriority, Project } from './model';
import { LABEL } from './service-flags';

/** The label that says which key of the project's `networks:` a network is. */
export const NETWORK_LABEL = 'com.docker.compose.network';

/** The project networks the services use. */
function networksOf(project: Project, services: string[]): string[] {
  const keys = services.flatMap((s) =>
    project.services[s].network_mode ? [] : Object.keys(project.services[s].networks ?? {}),
  );
  return [...new Set(keys)];
}

/** Makes the networks the services need; returns the names of those it made (to undo on a failure). */
export async function ensureNetworks(
  roots: Roots,
  project: Project,
  services: string[],
  progress: (line: string) => void,
): Promise<string[]> {
  const store = new NetworkStore(roots);
  const made: string[] = [];
  for (const key of networksOf(project, services)) {
    const spec = project.networks[key];
    const found = await store.find(spec.name);
    if (spec.external) {
      if (!found)
        throw new BoxError(
          `network ${spec.name} is declared as external but does not exist: ` +
            `create it with box network create ${spec.name}`,
        );
      continue;
    }
    if (found) continue;
    if (spec.driver !== undefined && spec.driver !== 'bridge')
      throw new BoxError(`network "${key}": driver "${spec.driver}" is not supported by box (bridge only): remove it`);
    const ipam = spec.ipam?.config?.[0];
    await store.create({
      name: spec.name,
      internal: spec.internal,
      attachable: spec.attachable,
      subnet: ipam?.subnet,
      gateway: ipam?.gateway,
      ipRange: ipam?.ip_range,
      options: spec.driver_opts,
      labels: { ...spec.labels, [LABEL.project]: project.name, [NETWORK_LABEL]: key },
    });
    made.push(spec.name);
    progress(`Network ${spec.name}  Created`);
  }
  if (made.length) await syncRuleset(roots, store);
  return made;
}

/**
 * Joins a created container to its service's networks after the first (before it starts); a
 * one-off container (`compose run`) gets no aliases there either, as on its first network.
 */
export async function connectOtherNetworks(
  containers: ContainerStore,
  project: Project,
  service: string,
  record: ContainerRecord,
  oneoff = false,
): Promise<void> {
  const s = project.services[service];
  if (s.network_mode) return;
  const store = new NetworkStore(containers.roots);
  for (const [key, endpoint] of networksByPriority(s).slice(1)) {
    const n = await store.get(project.networks[key].name);
    await connect(containers, n, record, {
      ip: endpoint?.ipv4_address,
      aliases: oneoff ? [] : [service, ...(endpoint?.aliases ?? [])],
    });
  }
}

/** Removes the project's own networks (by label; `only`: just these names). Returns the names removed. */
export async function removeProjectNetworks(
  roots: Roots,
  project: string,
  progress: (line: string) => void,
  only?: string[],
): Promise<string[]> {
  const store = new NetworkStore(roots);
  const containers = new ContainerStore(roots);
  const removed: string[] = [];
  for (const n of await store.list()) {
    if (n.Labels[LABEL.project] !== project || (only && !only.includes(n.Name))) continue;
    await removeNetwork(store, containers, n);
    removed.push(n.Name);
    progress(`Network ${n.Name}  Removed`);
  }
  return removed;
}
