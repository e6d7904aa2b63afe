// Address allocation (IPAM) of a bridge network: <root>/networks/<id>/ipam.json maps container ids
// to addresses, changed only under the network's flock. An allocation is owned by a process (its
// token, src/util/owner.ts): the `box` that allocates, until the container's init exists and takes
// it over. Every allocation first reconciles: an entry whose container record is gone or whose
// owner is dead (kill -9, a reboot that wiped /run) is dropped, so an address is never leaked.
import * as path from 'node:path';
import { BoxError } from '../errors';
import { layout, Roots } from '../paths';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs';
import * as fs from 'node:fs';
import { ownerAlive, ownerToken, processToken } from '../util/owner';
import { randomHex } from '../util/random';
import { BRIDGE_MAX_PORTS } from './links';
import type { PublishedPort } from './ports';
import { BridgeParams, bridgeParams, NetworkRecord } from './store';
import { formatIPv4, lastAddress, parseIPv4, subnetContains } from './subnet';
import { lockAllocations } from './locks';

export interface Allocation {
  address: string;
  mac: string;
  endpointId: string;
  /** the container's interface on the network (eth0, eth1...) */
  ifname?: string;
  /** the ports published to this address (the container's first network only): the ruleset's DNAT */
  ports?: PublishedPort[];
  /** "<pid>.<start time>" of the process that holds it: the allocating box, then the container's init */
  owner: string;
}

interface IpamFile {
  allocations: Record<string, Allocation>;
}

function ipamFile(roots: Roots, networkId: string): string {
  return path.join(layout.network(roots, networkId), 'ipam.json');
}

function readIpam(roots: Roots, networkId: string): IpamFile {
  return readJsonIfExists<IpamFile>(ipamFile(roots, networkId)) ?? { allocations: {} };
}

/** Whether an allocation still stands: its container exists and its owner lives. */
function live(roots: Roots, containerId: string, a: Allocation): boolean {
  return fs.existsSync(path.join(layout.container(roots, containerId), 'container.json')) && ownerAlive(a.owner);
}

/** Drops the allocations whose container is gone or whose owner died; returns their container ids. */
function dropDead(roots: Roots, f: IpamFile): string[] {
  const dead = Object.entries(f.allocations).filter(([id, a]) => !live(roots, id, a));
  for (const [id] of dead) delete f.allocations[id];
  return dead.map(([id]) => id);
}

/** Docker's MAC for an address: 02:42 then the address's four bytes. */
export function macFor(address: number): string {
  return [0x02, 0x42, address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}

async function withIpam<T>(roots: Roots, networkId: string, fn: (f: IpamFile) => T): Promise<T> {
  const lock = await lockAllocations(roots, networkId);
  try {
    const f = readIpam(roots, networkId);
    const before = JSON.stringify(f);
    const out = fn(f);
    if (JSON.stringify(f) !== before && fs.existsSync(layout.network(roots, networkId))) {
      writeJsonAtomic(ipamFile(roots, networkId), f, 0o600, false);
    }
    return out;
  } finally {
    lock.release();
  }
}

export interface AllocateRequest {
  containerId: string;
  /** --ip */
  ip?: string;
  /** --mac-address */
  mac?: string;
  ifname?: string;
  ports?: PublishedPort[];
  /** the owning process; default: this box */
  ownerPid?: number;
}

/**
 * An address on `network` for a container, after dropping dead owners' entries. A container that
 * holds one already gets it replaced (a restart). Errors (exit 125) name the network.
 */
export async function allocate(roots: Roots, network: NetworkRecord, req: AllocateRequest): Promise<Allocation> {
  const p = bridgeParams(roots, network);
  const wanted = req.ip === undefined ? undefined : checkRequestedIp(network, p, req.ip);
  const owner = req.ownerPid === undefined ? ownerToken() : processToken(req.ownerPid);
  if (owner === undefined) throw new BoxError(`container ${req.containerId.slice(0, 12)} is not running`);
  return withIpam(roots, network.Id, (f) => {
    // `network rm` removes the record under this lock: an allocation is made before (rm sees it
    // and refuses) or finds the network gone
    if (!fs.existsSync(layout.network(roots, network.Id))) {
      throw new BoxError(`network ${network.Name} was removed: connect the container to another network`);
    }
    dropDead(roots, f);
    delete f.allocations[req.containerId];
    const used = new Set(Object.values(f.allocations).map((a) => parseIPv4(a.address, 'address')));
    // a veth per container is one bridge port: the limit is an error here, before any veth exists
    if (used.size >= BRIDGE_MAX_PORTS) {
      throw new BoxError(`network ${network.Name} has ${BRIDGE_MAX_PORTS} containers, a Linux bridge's limit`);
    }
    let address: number | undefined;
    if (wanted !== undefined) {
      if (used.has(wanted)) {
        throw new BoxError(`address ${req.ip} is already in use on network ${network.Name}: choose another --ip`);
      }
      address = wanted;
    } else {
      address = firstFree(p, used);
      if (address === undefined) throw exhausted(network, p);
    }
    const a: Allocation = {
      address: formatIPv4(address),
      mac: req.mac ?? macFor(address),
      endpointId: randomHex(32),
      owner,
    };
    if (req.ifname !== undefined) a.ifname = req.ifname;
    if (req.ports?.length) a.ports = req.ports;
    f.allocations[req.containerId] = a;
    return a;
  });
}

function firstFree(p: BridgeParams, used: Set<number>): number | undefined {
  const last = lastAddress(p.range);
  for (let a = p.range.base; a <= last; a++) {
    if (a === p.subnet.base || a === lastAddress(p.subnet) || a === p.gateway || used.has(a)) continue;
    return a;
  }
  return undefined;
}

/** --ip: an address inside the network's subnet that is neither its network, broadcast nor gateway address. */
export function checkRequestedIp(network: NetworkRecord, p: BridgeParams, ip: string): number {
  const a = parseIPv4(ip, '--ip');
  const subnet = network.IPAM.Config[0].Subnet;
  if (!subnetContains(p.subnet, a)) {
    throw new BoxError(`--ip ${ip} is not in network ${network.Name}'s subnet ${subnet}: choose an address inside it`);
  }
  if (a === p.subnet.base || a === lastAddress(p.subnet) || a === p.gateway) {
    throw new BoxError(`--ip ${ip} is the network, broadcast or gateway address of network ${network.Name}`);
  }
  return a;
}

/**
 * What allocate would refuse now, checked without the lock and without allocating: run asks it
 * before the container exists, so an exhausted range or a taken --ip costs nothing. Allocation in
 * the start itself stays the binding check (a concurrent start may still take the last address).
 */
export function checkAllocatable(roots: Roots, network: NetworkRecord, ip?: string): void {
  const p = bridgeParams(roots, network);
  const wanted = ip === undefined ? undefined : checkRequestedIp(network, p, ip);
  const used = new Set([...liveAllocations(roots, network.Id).values()].map((a) => parseIPv4(a.address, 'address')));
  if (used.size >= BRIDGE_MAX_PORTS) {
    throw new BoxError(`network ${network.Name} has ${BRIDGE_MAX_PORTS} containers, a Linux bridge's limit`);
  }
  if (wanted !== undefined && used.has(wanted)) {
    throw new BoxError(`address ${ip} is already in use on network ${network.Name}: choose another --ip`);
  }
  if (wanted === undefined && firstFree(p, used) === undefined) throw exhausted(network, p);
}

function exhausted(network: NetworkRecord, p: BridgeParams): BoxError {
  return new BoxError(
    `no free address left on network ${network.Name} (${formatIPv4(p.range.base)}/${p.range.prefix}): ` +
      'remove a container from it or use a network with a larger subnet',
  );
}

/** Hands a container's allocation over to its init (the allocating box is about to exit). */
export async function transferToInit(roots: Roots, networkId: string, containerId: string, pid: number): Promise<void> {
  const token = processToken(pid);
  if (!token) throw new BoxError(`the container's process ${pid} ended before its network was set up`);
  await withIpam(roots, networkId, (f) => {
    const a = f.allocations[containerId];
    if (a) a.owner = token;
  });
}

export async function release(roots: Roots, networkId: string, containerId: string): Promise<void> {
  if (!fs.existsSync(layout.network(roots, networkId))) return;
  await withIpam(roots, networkId, (f) => {
    delete f.allocations[containerId];
  });
}

/** Runs `fn` holding the network's allocation lock (network rm: no allocation can start meanwhile). */
export async function withAllocationsLocked<T>(roots: Roots, networkId: string, fn: () => Promise<T>): Promise<T> {
  const lock = await lockAllocations(roots, networkId);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** The network's standing allocations, by container id (read only: a dead owner's entry is left out, not removed). */
export function liveAllocations(roots: Roots, networkId: string): Map<string, Allocation> {
  const out = new Map<string, Allocation>();
  for (const [id, a] of Object.entries(readIpam(roots, networkId).allocations)) if (live(roots, id, a)) out.set(id, a);
  return out;
}

/** The network's allocations that no longer stand (container gone, owner dead), read only. */
export function deadAllocations(roots: Roots, networkId: string): Map<string, Allocation> {
  const out = new Map<string, Allocation>();
  for (const [id, a] of Object.entries(readIpam(roots, networkId).allocations)) if (!live(roots, id, a)) out.set(id, a);
  return out;
}

/** Drops the allocations that no longer stand, under the network's lock (what every allocation does first). */
export async function releaseDead(roots: Roots, networkId: string): Promise<string[]> {
  return withIpam(roots, networkId, (f) => dropDead(roots, f));
}
