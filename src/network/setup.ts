// The glue between a container's life and its networks. At a start, while its init waits between
// clone and exec (onInitReady): an address from each network's IPAM, owned by the init, a veth into
// its netns (links.ts/attach.ts), its DNS names, its /etc/hosts and resolv.conf, and the root's
// nftables ruleset when its published ports change it. At its end (stop, exit, rm, a failed start,
// an orphan found by the next command): the addresses and names released. The ruleset and names
// are rebuilt from the live allocations by syncRuleset(), and an allocation whose owner died is
// reclaimed by the next allocate, so what a killed box missed is put right by a later command.
import { BoxError } from '../errors';
import type { ContainerRecord, NetworkEndpointConfig } from '../model';
import { lockFile } from '../image/locks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { layout, lockPaths, Roots } from '../paths';
import { mkdirp, readFileIfExists, writeFileAtomic } from '../util/fs';
import { type AttachedNetworks, type EtcFiles, writeEtcFiles } from '../runtime/etc-files';
import { attachContainer, detachContainer } from './attach';
import { announceContainer, withdrawContainer } from './dns/containers';
import { networksWithNames, reconcileNames, unpublishNames } from './dns/names';
import { allocate, Allocation, liveAllocations, release } from './ipam';
import { containerIfname, hostVethName } from './kernel-names';
import { enableIpForward } from './links';
import { applyRuleset, BoxRuleset } from './nftables';
import { rulesetPorts } from './ports';
import { bridgeParams, DEFAULT_NETWORK, NetworkRecord, NetworkStore } from './store';
import { formatIPv4 } from './subnet';
import { mark } from '../util/trace';
import { checkRootStillThere } from '../util/root-identity';
import { claimRootTag } from './tag-claims';

/** Whether a container's start involves its networks at all. */
export function hasEndpoints(record: ContainerRecord): boolean {
  return (record.config.networks ?? []).length > 0;
}

function isUserNetwork(n: NetworkRecord): boolean {
  return n.Name !== DEFAULT_NETWORK;
}

async function networkOf(store: NetworkStore, record: ContainerRecord, e: NetworkEndpointConfig) {
  const n = await store.find(e.networkId);
  if (!n) {
    throw new BoxError(
      `network ${e.name} of container ${record.name} was removed: disconnect it (box network disconnect ${e.name} ` +
        `${record.name}) or create the container again`,
    );
  }
  return n;
}

/**
 * Plugs endpoint `index` of a container into its network: allocation (owned by `pid`), veth,
 * DNS names. Returns the allocation; on failure nothing of it is left.
 */
async function plug(
  roots: Roots,
  record: ContainerRecord,
  n: NetworkRecord,
  e: NetworkEndpointConfig,
  index: number,
  pid: number,
): Promise<Allocation> {
  checkRootStillThere(roots, `network ${n.Name}'s bridge and veth`);
  await claimRootTag(roots);
  const p = bridgeParams(roots, n);
  const ifname = containerIfname(index);
  const ports = index === 0 ? record.config.ports : undefined;
  const a = await allocate(roots, n, { containerId: record.id, ip: e.ip, mac: e.mac, ownerPid: pid, ifname, ports });
  mark('network: address allocated');
  try {
    if (!p.internal) enableIpForward();
    const gateway = formatIPv4(p.gateway);
    attachContainer(pid, {
      bridge: p.bridge,
      bridgeAddress: `${gateway}/${p.subnet.prefix}`,
      hostIfname: hostVethName(record.id, index),
      ifname,
      address: a.address,
      prefixLength: p.subnet.prefix,
      gateway,
      mtu: p.mtu,
      mac: a.mac,
      defaultRoute: index === 0,
    });
    mark('network: veth attached');
    // names resolve on user networks (not on bridge, as Docker's) once the start returns
    await announceContainer(roots, n, { id: record.id, name: record.name, aliases: e.aliases, ipv4: a.address });
    return a;
  } catch (err) {
    await withdrawContainer(roots, n, record.id);
    await release(roots, n.Id, record.id);
    throw err;
  }
}

/**
 * The onInitReady part of a start: every endpoint plugged in, the etc files rewritten with the
 * addresses (before the init goes on to bind-mount them), the ruleset applied. A failure unplugs
 * what was plugged (the veths go with the init's netns when the helper ends it).
 */
export async function attachNetworks(roots: Roots, record: ContainerRecord, files: EtcFiles, pid: number) {
  const store = new NetworkStore(roots);
  const plugged: NetworkRecord[] = [];
  try {
    const attached: AttachedNetworks = { addresses: [] };
    const endpoints = record.config.networks ?? [];
    for (const [i, e] of endpoints.entries()) {
      const n = await networkOf(store, record, e);
      const a = await plug(roots, record, n, e, i, pid);
      plugged.push(n);
      attached.addresses.push(a.address);
      if (i === 0 && isUserNetwork(n)) attached.nameserver = formatIPv4(bridgeParams(roots, n).gateway);
    }
    writeEtcFiles(files, record.config, attached);
    if (rulesetTouched(roots, record)) await syncRuleset(roots, store);
    mark('network: ruleset applied');
  } catch (err) {
    for (const n of plugged) {
      await withdrawContainer(roots, n, record.id);
      await release(roots, n.Id, record.id);
    }
    throw err;
  }
}

/** A container's end: its addresses and names released, the ruleset rebuilt. Idempotent. */
export async function releaseNetworks(roots: Roots, record: ContainerRecord): Promise<void> {
  if (!hasEndpoints(record)) return;
  for (const e of record.config.networks ?? []) {
    // the default bridge publishes no names (as Docker's): its names file is never made
    if (e.name !== DEFAULT_NETWORK) await unpublishNames(roots, e.networkId, record.id);
    await release(roots, e.networkId, record.id);
  }
  if (rulesetTouched(roots, record)) await syncRuleset(roots, new NetworkStore(roots));
}

/**
 * The DNAT entries of every running container that publishes ports, to its address on its first
 * network (as Docker's): from the live allocations alone, so a dead container's ports go with it.
 */
function publishedNow(roots: Roots, networks: NetworkRecord[]): BoxRuleset['ports'] {
  const out: BoxRuleset['ports'] = [];
  for (const n of networks) {
    for (const a of liveAllocations(roots, n.Id).values()) {
      if (a.ports?.length) out.push(...rulesetPorts(a.ports, a.address, bridgeParams(roots, n).bridge));
    }
  }
  return out;
}

/** Whether a start or end must rebuild the ruleset: it publishes ports, or no ruleset was applied since boot. */
function rulesetTouched(roots: Roots, record: ContainerRecord): boolean {
  return (record.config.ports ?? []).length > 0 || !fs.existsSync(appliedRulesetFile(roots));
}

function appliedRulesetFile(roots: Roots): string {
  return path.join(layout.runNetworks(roots), 'ruleset.json');
}

/** The root's table as its bridge networks and running containers give it now. */
export function desiredRuleset(roots: Roots, store: NetworkStore): BoxRuleset {
  // published ports follow the containers that run: a start or end with ports changes the table
  const networks = store.readSync().filter((n) => n.Driver === 'bridge');
  return {
    networks: networks
      .map((n) => bridgeParams(roots, n))
      .map((p) => ({
        bridge: p.bridge,
        subnet: `${formatIPv4(p.subnet.base)}/${p.subnet.prefix}`,
        internal: p.internal,
      })),
    ports: publishedNow(roots, networks),
  };
}

/**
 * Rebuilds the root's nftables table from its bridge networks (each has its Linux bridge from
 * `network create` on; none: the table goes), and drops DNS names whose containers are gone.
 * Serialised per root so an older view never lands after a newer one.
 */
export async function syncRuleset(roots: Roots, store: NetworkStore, force = false): Promise<void> {
  checkRootStillThere(roots, 'its nftables table');
  await claimRootTag(roots);
  const lock = await lockFile(lockPaths.ruleset(roots));
  try {
    const desired = desiredRuleset(roots, store);
    // Container starts and ends change nothing in the table (until published ports): what was
    // applied last is kept in the runroot, and an equal ruleset is not sent again (unless `force`:
    // `system check --fix` found the kernel's table to differ from it).
    const text = JSON.stringify(desired);
    const applied = appliedRulesetFile(roots);
    if (force || readFileIfExists(applied) !== text) {
      applyRuleset(roots, desired, force);
      mkdirp(layout.runNetworks(roots), 0o700);
      writeFileAtomic(applied, text, 0o600, false);
    }
    for (const id of networksWithNames(roots)) {
      const live = liveAllocations(roots, id);
      await reconcileNames(roots, id, (containerId) => live.has(containerId));
    }
  } finally {
    lock.release();
  }
}

/** The interface names a running container has on its networks now (from their allocations). */
function ifnamesInUse(roots: Roots, record: ContainerRecord): Set<string> {
  const out = new Set<string>();
  for (const e of record.config.networks ?? []) {
    const a = liveAllocations(roots, e.networkId).get(record.id);
    if (a?.ifname) out.add(a.ifname);
  }
  return out;
}

/** `network connect` of a running container: the endpoint plugged in as its first free ethN. */
export async function connectRunning(roots: Roots, record: ContainerRecord, e: NetworkEndpointConfig, pid: number) {
  const store = new NetworkStore(roots);
  const n = await networkOf(store, record, e);
  const used = ifnamesInUse(roots, record);
  let index = 0;
  while (used.has(containerIfname(index))) index++;
  await plug(roots, record, n, e, index, pid);
  await syncRuleset(roots, store);
}

/** `network disconnect` of a running container: its interface removed, address and names released. */
export async function disconnectRunning(roots: Roots, record: ContainerRecord, networkId: string, pid: number) {
  const a = liveAllocations(roots, networkId).get(record.id);
  if (a?.ifname) detachContainer(pid, a.ifname);
  await unpublishNames(roots, networkId, record.id);
  await release(roots, networkId, record.id);
  await syncRuleset(roots, new NetworkStore(roots));
}
