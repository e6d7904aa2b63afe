// A container's names on its networks, in the terms of network records (store.ts): the one call
// the start of a container makes per network (names published, then the responder ensured, so
// they resolve once it returns) and the one its end makes. Only user-defined bridge networks have
// a responder, as with Docker: on `bridge`, `host` and `none` names are not served by DNS.
import { Roots } from '../../paths';
import { DEFAULT_NETWORK, NetworkRecord } from '../store';
import { DnsNetwork, EnsureOptions, ensureResponder } from './ensure';
import { networksWithNames, publishNames, unpublishNames } from './names';
import { liveResponder } from './pid-file';

export interface ContainerNames {
  id: string;
  /** the container's name (without Docker's leading '/') */
  name: string;
  /** its --network-alias values on this network */
  aliases: string[];
  /** its address on this network */
  ipv4: string;
}

/** The network as its responder needs it; undefined for a network without one. */
export function dnsNetworkOf(n: NetworkRecord): DnsNetwork | undefined {
  const cfg = n.IPAM.Config[0];
  if (n.Driver !== 'bridge' || n.Name === DEFAULT_NETWORK || !cfg) return undefined;
  return { id: n.Id, name: n.Name, gateway: `${cfg.Gateway}/${cfg.Subnet.split('/')[1]}`, internal: n.Internal };
}

/** Publishes a container's name, aliases and short id on a network and makes sure its responder answers. */
export async function announceContainer(
  roots: Roots,
  n: NetworkRecord,
  c: ContainerNames,
  opts?: EnsureOptions,
): Promise<void> {
  const dns = dnsNetworkOf(n);
  if (!dns) return;
  const names = [c.name.replace(/^\//, ''), ...c.aliases, c.id.slice(0, 12)];
  await publishNames(roots, n.Id, { containerId: c.id, names, ipv4: c.ipv4 });
  await ensureResponder(roots, dns, opts);
}

/** Takes a container's names off a network (its responder ends by itself when none are left). */
export async function withdrawContainer(roots: Roots, n: NetworkRecord, containerId: string): Promise<void> {
  if (dnsNetworkOf(n)) await unpublishNames(roots, n.Id, containerId);
}

/**
 * Starts again the responders that died (kill -9, the OOM killer) while their networks still have
 * names: without this, names would not resolve until the next container start on the network.
 * For a command that reconciles (ps, a start, a stop); returns the networks whose responder it
 * started. Cheap when all is well: a directory read and a pid file per network.
 */
export async function repairResponders(
  roots: Roots,
  networks: NetworkRecord[],
  opts?: EnsureOptions,
): Promise<string[]> {
  const started: string[] = [];
  for (const id of networksWithNames(roots)) {
    if (liveResponder(roots, id)) continue;
    const n = networks.find((x) => x.Id === id);
    const dns = n && dnsNetworkOf(n);
    if (!dns) continue;
    await ensureResponder(roots, dns, opts);
    started.push(dns.name);
  }
  return started;
}
