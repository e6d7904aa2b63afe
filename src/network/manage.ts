// What `box network inspect`, `rm` and `prune` do below the command line: a network's live
// endpoints (from IPAM's standing allocations), Docker's inspect shape, and removal that is refused
// while a container is attached (rm: a running one, as Docker's "active endpoints"; prune: any).
import { BoxError } from '../errors';
import type { NetworkEndpointConfig } from '../model';
import type { Roots } from '../paths';
import { ContainerStore } from '../runtime/containers';
import { repairResponders } from './dns/containers';
import { stopResponder } from './dns/ensure';
import { liveAllocations, withAllocationsLocked } from './ipam';
import { deleteLink } from './links';
import { syncRuleset } from './setup';
import { bridgeParams, NetworkRecord, NetworkStore, PREDEFINED } from './store';
import { formatIPv4 } from './subnet';
import { removeNetworkRuntimeFiles } from './locks';

export interface Endpoint {
  containerId: string;
  name: string;
  endpointId: string;
  mac: string;
  /** address/prefix */
  ipv4: string;
}

/** The containers running on a network now, with their addresses. */
export function endpointsOf(store: NetworkStore, containers: ContainerStore, n: NetworkRecord): Endpoint[] {
  if (n.Driver !== 'bridge') return [];
  const prefix = n.IPAM.Config[0]?.Subnet.split('/')[1] ?? '32';
  const out: Endpoint[] = [];
  for (const [id, a] of liveAllocations(store.roots, n.Id)) {
    const c = containers.read(id);
    const name = c && 'name' in c ? c.name : id.slice(0, 12);
    out.push({ containerId: id, name, endpointId: a.endpointId, mac: a.mac, ipv4: `${a.address}/${prefix}` });
  }
  return out;
}

/** A running container's endpoint on a network now (undefined when it holds no address there). */
export function endpointSettings(roots: Roots, e: NetworkEndpointConfig, containerId: string) {
  const a = liveAllocations(roots, e.networkId).get(containerId);
  const n = a && new NetworkStore(roots).readSync().find((x) => x.Id === e.networkId);
  if (!a || !n) return undefined;
  const p = bridgeParams(roots, n);
  return {
    address: a.address,
    mac: a.mac,
    endpointId: a.endpointId,
    gateway: formatIPv4(p.gateway),
    prefixLength: p.subnet.prefix,
  };
}

/** Docker's `network inspect` object: the record with its Containers filled in. */
export function inspectNetwork(store: NetworkStore, containers: ContainerStore, n: NetworkRecord): object {
  const Containers: Record<string, object> = {};
  for (const e of endpointsOf(store, containers, n)) {
    Containers[e.containerId] = {
      Name: e.name,
      EndpointID: e.endpointId,
      MacAddress: e.mac,
      IPv4Address: e.ipv4,
      IPv6Address: '',
    };
  }
  const { Options, Labels, ...head } = n;
  return { ...head, Containers, Options, Labels };
}

export function isPredefined(n: NetworkRecord): boolean {
  return (PREDEFINED as readonly string[]).includes(n.Name);
}

/** The names of containers whose configuration names the network (any state). */
export function containersNaming(containers: ContainerStore, n: NetworkRecord): string[] {
  return containers
    .list()
    .filter((c) => c.config.networks?.some((e) => e.networkId === n.Id))
    .map((c) => c.name);
}

/** What a network holds in the kernel and the runtime root: its DNS responder, its Linux bridge. */
async function removeKernelObjects(store: NetworkStore, n: NetworkRecord): Promise<void> {
  await stopResponder(store.roots, n.Id);
  deleteLink(bridgeParams(store.roots, n).bridge);
}

/**
 * Removes a user network (exit 1 errors as Docker's daemon errors): refused for a predefined one
 * and while a container runs on it. Its bridge and DNS responder go with it.
 */
export async function removeNetwork(store: NetworkStore, containers: ContainerStore, n: NetworkRecord): Promise<void> {
  if (isPredefined(n)) throw new BoxError(`${n.Name} is a pre-defined network and cannot be removed`, 1);
  // under the allocation lock: a container starting on it meanwhile either shows here or fails
  await withAllocationsLocked(store.roots, n.Id, async () => {
    const users = endpointsOf(store, containers, n);
    if (users.length) {
      const names = users.map((u) => u.name).join(', ');
      throw new BoxError(`network ${n.Name} has active endpoints (${names}): stop or disconnect them first`, 1);
    }
    await removeKernelObjects(store, n);
    store.removeRecord(n);
    await removeNetworkRuntimeFiles(store.roots, n.Id);
  });
  await syncRuleset(store.roots, store);
}

/**
 * `network prune`: every user network no container names (of those `selected`: --filter); returns
 * their names. The ruleset, DNS
 * names and responders are put right for the containers that run, whatever was removed.
 */
export async function pruneNetworks(
  store: NetworkStore,
  containers: ContainerStore,
  selected: (n: NetworkRecord) => boolean = () => true,
): Promise<string[]> {
  const removed: string[] = [];
  for (const n of await store.list()) {
    if (isPredefined(n) || !selected(n) || containersNaming(containers, n).length) continue;
    const gone = await withAllocationsLocked(store.roots, n.Id, async () => {
      if (endpointsOf(store, containers, n).length) return false;
      await removeKernelObjects(store, n);
      store.removeRecord(n);
      await removeNetworkRuntimeFiles(store.roots, n.Id);
      return true;
    });
    if (gone) removed.push(n.Name);
  }
  // also what a killed box left: ports and DNS names of containers that are gone, and responders
  // killed while their networks still have containers
  await syncRuleset(store.roots, store);
  await repairResponders(store.roots, await store.list());
  return removed;
}
