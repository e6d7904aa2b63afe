// The network flags of `box run` and `box create` (--network, --ip, --mac-address, --network-alias,
// --add-host, --dns*), checked on their own (before the image is looked up or pulled) and turned
// into the container's endpoint configuration, which needs the network store.
import { BoxError } from '../errors';
import type { ContainerConfig, NetworkEndpointConfig } from '../model';
import { checkAllocatable, checkRequestedIp } from './ipam';
import { bridgeParams, DEFAULT_NETWORK, NetworkStore } from './store';
import { parseIPv4 } from './subnet';
import { parsePublish, PortBinding, withExposedPorts } from './ports';

/** The network of a container when --network is not given: the default bridge, as Docker's. */
export const DEFAULT_NETWORK_MODE: string = DEFAULT_NETWORK;

export interface NetworkFlags {
  network?: string;
  ip?: string;
  macAddress?: string;
  networkAlias: string[];
  addHost: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  publish: string[];
  publishAll: boolean;
}

export interface ParsedNetworkFlags {
  mode: string;
  ip?: string;
  mac?: string;
  aliases: string[];
  extraHosts: string[];
  dns?: NonNullable<ContainerConfig['dns']>;
  /** -p's bindings (-P's are added once the image is known: withExposedPorts) */
  publish: PortBinding[];
  publishAll: boolean;
}

const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function isBridgeMode(mode: string): boolean {
  return mode !== 'none' && mode !== 'host';
}

export function parseNetworkFlags(f: NetworkFlags): ParsedNetworkFlags {
  const mode = f.network ?? DEFAULT_NETWORK_MODE;
  if (mode === 'default') return parseNetworkFlags({ ...f, network: DEFAULT_NETWORK });
  if (!NETWORK_NAME_RE.test(mode) || mode.startsWith('container:')) {
    throw new BoxError(`invalid --network "${mode}": use bridge, none, host or the name of a network`);
  }
  const bridged = isBridgeMode(mode);
  for (const [given, flag] of [
    [f.ip !== undefined, '--ip'],
    [f.macAddress !== undefined, '--mac-address'],
    [f.networkAlias.length > 0, '--network-alias'],
  ] as const) {
    if (given && !bridged)
      throw new BoxError(`${flag} needs a bridge network: it means nothing with --network ${mode}`);
  }
  if (f.networkAlias.length > 0 && mode === DEFAULT_NETWORK) {
    throw new BoxError(
      '--network-alias works on user-defined networks only (as Docker): create one with box network create',
    );
  }
  if (mode === 'host' && f.dns.length + f.dnsSearch.length + f.dnsOption.length > 0) {
    throw new BoxError("--dns, --dns-search and --dns-option cannot be used with --network host: it uses the host's");
  }
  if (f.ip !== undefined) parseIPv4(f.ip, '--ip');
  let mac: string | undefined;
  if (f.macAddress !== undefined) {
    mac = f.macAddress.toLowerCase().replace(/-/g, ':');
    if (!MAC_RE.test(mac) || Number.parseInt(mac.slice(0, 2), 16) & 1) {
      throw new BoxError(
        `invalid --mac-address "${f.macAddress}": expected a unicast address such as 02:42:ac:11:00:02`,
      );
    }
  }
  for (const a of f.networkAlias) {
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,252})$/.test(a)) {
      throw new BoxError(`invalid --network-alias "${a}": use letters, digits, '_', '.' and '-'`);
    }
  }
  const extraHosts = f.addHost.map(checkAddHost);
  for (const d of f.dns) if (!isIP(d)) throw new BoxError(`invalid --dns "${d}": expected an IP address`);
  for (const o of f.dnsOption) if (!/^\S+$/.test(o)) throw new BoxError(`invalid --dns-option "${o}": no spaces`);
  for (const s of f.dnsSearch) if (!/^\S+$/.test(s)) throw new BoxError(`invalid --dns-search "${s}": no spaces`);
  const publish = f.publish.flatMap(parsePublish);
  const anyDns = f.dns.length + f.dnsSearch.length + f.dnsOption.length > 0;
  return {
    mode,
    ip: f.ip,
    mac,
    aliases: f.networkAlias,
    extraHosts,
    dns: anyDns ? { servers: f.dns, search: f.dnsSearch, options: f.dnsOption } : undefined,
    publish,
    publishAll: f.publishAll,
  };
}

/**
 * node:net's isIP, loaded by the first address checked: loading net (and the stream modules it
 * brings) costs a start ~1.4 ms of CPU, which a start without --dns or --add-host need not pay.
 */
function isIP(address: string): number {
  return (require('node:net') as typeof import('node:net')).isIP(address);
}

/** `NAME:ADDRESS` (or Docker 25's `NAME=ADDRESS`), normalised to NAME:ADDRESS. */
function checkAddHost(entry: string): string {
  const i = entry.search(/[:=]/);
  const name = i < 0 ? '' : entry.slice(0, i);
  const address = i < 0 ? '' : entry.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9_.-]*)$/.test(name) || !isIP(address)) {
    throw new BoxError(`invalid --add-host "${entry}": expected NAME:ADDRESS, such as db:10.0.0.5`);
  }
  return `${name}:${address}`;
}

/** The named network, if the store has it (read only; the predefined ones count even before they are made). */
export function networkExists(store: NetworkStore, mode: string): boolean {
  return (
    !isBridgeMode(mode) || mode === DEFAULT_NETWORK || store.readSync().some((n) => n.Name === mode || n.Id === mode)
  );
}

/** The endpoint a new container gets for its --network (none for none and host), checked against the network. */
export async function endpointsFor(store: NetworkStore, p: ParsedNetworkFlags): Promise<NetworkEndpointConfig[]> {
  if (!isBridgeMode(p.mode)) return [];
  const n = await store.find(p.mode);
  if (!n) throw new BoxError(`network ${p.mode} not found: create it with box network create ${p.mode}`);
  if (n.Driver !== 'bridge') return [];
  if (p.ip !== undefined) checkRequestedIp(n, bridgeParams(store.roots, n), p.ip);
  const e: NetworkEndpointConfig = { networkId: n.Id, name: n.Name, aliases: p.aliases };
  if (p.ip !== undefined) e.ip = p.ip;
  if (p.mac !== undefined) e.mac = p.mac;
  return [e];
}

/**
 * The bindings a new container publishes: -p's, and with -P the image's exposed ports. On host
 * and none networks they mean nothing: dropped with a warning, as Docker does on host.
 */
export function portBindingsFor(p: ParsedNetworkFlags, exposed: string[], warn: (m: string) => void): PortBinding[] {
  const bindings = p.publishAll ? withExposedPorts(p.publish, exposed) : p.publish;
  if (bindings.length && !isBridgeMode(p.mode)) {
    warn(`published ports are discarded when using --network ${p.mode}`);
    return [];
  }
  return bindings;
}

/** `run`'s early check of its network: a full one or a taken --ip is refused before anything exists. */
export async function checkNetworkRoom(store: NetworkStore, p: ParsedNetworkFlags): Promise<void> {
  if (!isBridgeMode(p.mode)) return;
  const n = await store.find(p.mode);
  if (n?.Driver === 'bridge') checkAllocatable(store.roots, n, p.ip);
}
