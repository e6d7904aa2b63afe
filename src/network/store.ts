// Network records: one directory per network under <root>/networks/<id>/ holding network.json in
// Docker's shape (what `network inspect` prints, less the live Containers map) and the network's
// address allocations (ipam.ts). The predefined networks (`bridge`, `host`, `none`) are made on
// first use. A new network's subnet is chosen under a host-wide lock so that it overlaps neither
// the host's routes nor another network of this root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { lockFile } from '../image/locks';
import { checkedNetworkId, CONTAINER_ID_RE, layout, lockPaths, Roots } from '../paths';
import { mkdirp, readJsonIfExists, writeJsonAtomic } from '../util/fs';
import { randomHex } from '../util/random';
import { hostUsedSubnets } from './host-routes';
import { ensureBridge } from './links';
import { defaultBridgeName, SUBNET_LOCK_PATH, userBridgeName, validIfname } from './kernel-names';
import {
  formatIPv4,
  formatSubnet,
  lastAddress,
  parseIPv4,
  parseSubnet,
  Subnet,
  subnetContains,
  subnetsOverlap,
} from './subnet';
import { checkRootStillThere } from '../util/root-identity';
import { claimRootTag } from './tag-claims';
import { isoTime } from '../util/iso-time';

export const DEFAULT_NETWORK = 'bridge';
export const PREDEFINED = ['bridge', 'host', 'none'] as const;
export const DEFAULT_MTU = 1500;

const BRIDGE_NAME_OPT = 'com.docker.network.bridge.name';
const MTU_OPTS = ['com.docker.network.driver.mtu', 'mtu'];

export interface IpamConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

/** A network as Docker's `network inspect` shows it (Containers is filled in when printed). */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv6: false;
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: false;
  ConfigFrom: { Network: string };
  ConfigOnly: false;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface CreateNetworkOptions {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/** What a bridge network means for the kernel: its Linux bridge, addresses and MTU, checked. */
export interface BridgeParams {
  bridge: string;
  subnet: Subnet;
  gateway: number;
  /** where addresses are handed out from (the subnet unless --ip-range said otherwise) */
  range: Subnet;
  mtu: number;
  internal: boolean;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The first subnets offered, Docker's 172.17-31 space then 192.168, as /24s (253 containers each). */
function* candidateSubnets(): Generator<Subnet> {
  for (let b = 17; b <= 31; b++)
    for (let c = 0; c < 256; c++) yield { base: ((172 << 24) | (b << 16) | (c << 8)) >>> 0, prefix: 24 };
  for (let c = 0; c < 256; c++) yield { base: ((192 << 24) | (168 << 16) | (c << 8)) >>> 0, prefix: 24 };
}

/** The Linux bridge of a bridge network: its option's name, or the one kernel-names.ts gives it. */
export function bridgeName(roots: Roots, n: NetworkRecord): string {
  return (
    n.Options[BRIDGE_NAME_OPT] ?? (n.Name === DEFAULT_NETWORK ? defaultBridgeName(roots) : userBridgeName(roots, n.Id))
  );
}

export function bridgeParams(roots: Roots, n: NetworkRecord): BridgeParams {
  const cfg = n.IPAM.Config[0];
  if (n.Driver !== 'bridge' || !cfg) throw new BoxError(`network ${n.Name} has no bridge (driver ${n.Driver})`);
  const subnet = parseSubnet(cfg.Subnet, 'subnet');
  const mtuText = MTU_OPTS.map((k) => n.Options[k]).find((v) => v !== undefined);
  return {
    bridge: bridgeName(roots, n),
    subnet,
    gateway: parseIPv4(cfg.Gateway, 'gateway'),
    range: cfg.IPRange ? parseSubnet(cfg.IPRange, 'ip-range') : subnet,
    mtu: mtuText === undefined ? DEFAULT_MTU : Number(mtuText),
    internal: n.Internal,
  };
}

function hasPredefined(all: NetworkRecord[]): boolean {
  return PREDEFINED.every((p) => all.some((n) => n.Name === p));
}

export class NetworkStore {
  constructor(readonly roots: Roots) {}

  private file(id: string): string {
    return path.join(layout.network(this.roots, id), 'network.json');
  }

  /** Every network of this root, the predefined ones first (made here on first use). */
  async list(): Promise<NetworkRecord[]> {
    const all = this.read(); // read once when the predefined ones are there (every start looks networks up)
    if (hasPredefined(all)) return all;
    await this.ensurePredefined();
    return this.read();
  }

  /** The networks already recorded, predefined ones included only once made (never waits for a lock). */
  readSync(): NetworkRecord[] {
    return this.read();
  }

  private read(): NetworkRecord[] {
    let ids: string[];
    try {
      ids = fs.readdirSync(layout.networks(this.roots)).filter((d) => CONTAINER_ID_RE.test(d));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const out: NetworkRecord[] = [];
    for (const id of ids) {
      const n = readJsonIfExists<NetworkRecord>(this.file(id));
      if (n) out.push(n);
    }
    const rank = (n: NetworkRecord) => {
      const i = (PREDEFINED as readonly string[]).indexOf(n.Name);
      return i < 0 ? PREDEFINED.length : i;
    };
    return out.sort((a, b) => rank(a) - rank(b) || a.Created.localeCompare(b.Created));
  }

  /** A network by name, full id or unique id prefix (Docker's order); undefined if none. */
  async find(query: string): Promise<NetworkRecord | undefined> {
    const all = await this.list();
    const exact = all.find((n) => n.Name === query || n.Id === query);
    if (exact) return exact;
    if (!/^[0-9a-f]{1,63}$/.test(query)) return undefined;
    const byPrefix = all.filter((n) => n.Id.startsWith(query));
    if (byPrefix.length > 1) throw new BoxError(`network id prefix "${query}" is ambiguous: give more of the id`, 1);
    return byPrefix[0];
  }

  /** Like find, with Docker's error (exit 1) when there is no such network. */
  async get(query: string): Promise<NetworkRecord> {
    const n = await this.find(query);
    if (!n) throw new BoxError(`network ${query} not found: list networks with box network ls`, 1);
    return n;
  }

  async create(o: CreateNetworkOptions): Promise<NetworkRecord> {
    checkCreateOptions(o);
    checkRootStillThere(this.roots, `network ${o.name} (its bridge)`);
    await claimRootTag(this.roots);
    const lock = await lockFile(lockPaths.networks(this.roots));
    try {
      await this.ensurePredefinedLocked();
      const all = this.read();
      if (all.some((n) => n.Name === o.name)) throw new BoxError(`network with name ${o.name} already exists`, 1);
      const id = randomHex(32);
      const record = newRecord(o.name, id, 'bridge', o);
      const bridgeOpt = record.Options[BRIDGE_NAME_OPT];
      if (bridgeOpt !== undefined && all.some((n) => n.Options[BRIDGE_NAME_OPT] === bridgeOpt)) {
        throw new BoxError(`bridge name ${bridgeOpt} is used by another network: choose another one`, 1);
      }
      await this.withSubnet(record, o.subnet === undefined ? undefined : o, all);
      return record;
    } finally {
      lock.release();
    }
  }

  /** Removes a network's record and allocations; the caller has checked nothing uses it. */
  removeRecord(n: NetworkRecord): void {
    fs.rmSync(layout.network(this.roots, n.Id), { recursive: true, force: true });
  }

  private async ensurePredefined(): Promise<void> {
    if (hasPredefined(this.read())) return;
    checkRootStillThere(this.roots, 'the default network (its bridge)');
    await claimRootTag(this.roots);
    const lock = await lockFile(lockPaths.networks(this.roots));
    try {
      await this.ensurePredefinedLocked();
    } finally {
      lock.release();
    }
  }

  private async ensurePredefinedLocked(): Promise<void> {
    const all = this.read();
    const has = (name: string) => all.some((n) => n.Name === name);
    if (!has('host')) this.write(newRecord('host', randomHex(32), 'host', {}));
    if (!has('none')) this.write(newRecord('none', randomHex(32), 'null', {}));
    if (has(DEFAULT_NETWORK)) return;
    const options = {
      'com.docker.network.bridge.default_bridge': 'true',
      [BRIDGE_NAME_OPT]: defaultBridgeName(this.roots),
      'com.docker.network.driver.mtu': String(DEFAULT_MTU),
    };
    await this.withSubnet(newRecord(DEFAULT_NETWORK, randomHex(32), 'bridge', { options }), undefined, all);
  }

  /**
   * Gives `record` its subnet (the user's, checked against this root's networks, or the first free
   * candidate) and writes it, all under the host-wide subnet lock, so two roots never pick one.
   */
  private async withSubnet(
    record: NetworkRecord,
    given: CreateNetworkOptions | undefined,
    others: NetworkRecord[],
  ): Promise<void> {
    const lock = await lockFile(SUBNET_LOCK_PATH);
    try {
      const ours = others.flatMap((n) => n.IPAM.Config.map((c) => parseSubnet(c.Subnet, 'subnet')));
      let subnet: Subnet;
      if (given?.subnet !== undefined) {
        subnet = parseSubnet(given.subnet, '--subnet');
        const clash = others.find((n) => n.IPAM.Config.some((c) => subnetsOverlap(parseSubnet(c.Subnet, 's'), subnet)));
        if (clash) {
          throw new BoxError(`subnet ${given.subnet} overlaps network ${clash.Name}'s: choose another --subnet`, 1);
        }
      } else {
        const taken = [...ours, ...hostUsedSubnets()];
        const free = [...candidateSubnets()].find((c) => !taken.some((t) => subnetsOverlap(t, c)));
        if (!free) throw new BoxError(`no free subnet left for network ${record.Name}: give one with --subnet`);
        subnet = free;
      }
      record.IPAM.Config = [ipamConfig(subnet, given)];
      this.write(record);
      // The bridge holds the subnet's gateway address from now on: the next network chosen on this
      // host, from any root, sees the subnet among the host's routes.
      try {
        const p = bridgeParams(this.roots, record);
        ensureBridge({ name: p.bridge, address: `${record.IPAM.Config[0].Gateway}/${p.subnet.prefix}`, mtu: p.mtu });
      } catch (err) {
        this.removeRecord(record);
        throw new BoxError(`cannot create the bridge of network ${record.Name}: ${(err as Error).message}`);
      }
    } finally {
      lock.release();
    }
  }

  private write(record: NetworkRecord): void {
    mkdirp(layout.network(this.roots, checkedNetworkId(record.Id)), 0o700);
    writeJsonAtomic(this.file(record.Id), record, 0o600, false);
  }
}

function newRecord(
  name: string,
  id: string,
  driver: NetworkRecord['Driver'],
  o: Partial<CreateNetworkOptions>,
): NetworkRecord {
  return {
    Name: name,
    Id: id,
    Created: isoTime(),
    Scope: 'local',
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [] },
    Internal: o.internal ?? false,
    Attachable: o.attachable ?? false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: o.options ?? {},
    Labels: o.labels ?? {},
  };
}

/** The IPAM block for `subnet`: the gateway (given, else the first host address) and --ip-range, checked. */
function ipamConfig(subnet: Subnet, o: CreateNetworkOptions | undefined): IpamConfig {
  const text = formatSubnet(subnet);
  if (subnet.prefix > 30) throw new BoxError(`subnet ${text} is too small: give a prefix of /30 or shorter`, 1);
  let gateway = subnet.base + 1;
  if (o?.gateway !== undefined) {
    gateway = parseIPv4(o.gateway, '--gateway');
    if (!subnetContains(subnet, gateway) || gateway === subnet.base || gateway === lastAddress(subnet)) {
      throw new BoxError(`gateway ${o.gateway} is not a host address of subnet ${text}: choose one inside it`, 1);
    }
  }
  const out: IpamConfig = { Subnet: text, Gateway: formatIPv4(gateway) };
  if (o?.ipRange !== undefined) {
    const range = parseSubnet(o.ipRange, '--ip-range');
    if (range.prefix < subnet.prefix || !subnetContains(subnet, range.base)) {
      throw new BoxError(`ip-range ${o.ipRange} is not inside subnet ${text}: choose a range within it`, 1);
    }
    out.IPRange = formatSubnet(range);
  }
  return out;
}

/** Every check of `network create`'s input that needs no state: name, driver, options. */
function checkCreateOptions(o: CreateNetworkOptions): void {
  if (!NAME_RE.test(o.name)) {
    throw new BoxError(
      `invalid network name "${o.name}": use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  if ((PREDEFINED as readonly string[]).includes(o.name)) {
    throw new BoxError(`network with name ${o.name} already exists: it is predefined`, 1);
  }
  if (o.driver !== undefined && o.driver !== 'bridge') {
    throw new BoxError(`network driver "${o.driver}" is not supported: box offers --driver bridge`);
  }
  if ((o.gateway !== undefined || o.ipRange !== undefined) && o.subnet === undefined) {
    throw new BoxError('--gateway and --ip-range need --subnet: give the subnet they belong to');
  }
  for (const [k, v] of Object.entries(o.options ?? {})) {
    if (k === BRIDGE_NAME_OPT) {
      if (!validIfname(v))
        throw new BoxError(`invalid bridge name "${v}": use 1 to 15 characters, no '/', ':' or spaces`);
    } else if (MTU_OPTS.includes(k)) {
      const mtu = Number(v);
      if (!/^\d+$/.test(v) || mtu < 68 || mtu > 65535) {
        throw new BoxError(`invalid MTU "${v}" (-o ${k}): give a number from 68 to 65535`);
      }
    } else {
      throw new BoxError(`unsupported network option "${k}": box supports -o ${BRIDGE_NAME_OPT}= and -o mtu=`);
    }
  }
}
