// Published ports: `-p`/`--publish` parsed exactly as Docker parses it (go-connections'
// ParsePortSpec: `[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]`, and the CLI's long form
// `published=HOST,target=CONTAINER[,protocol=P]`, with the same error texts), `-P`'s
// random host ports for the image's exposed ports, the choice of host ports (random in the
// kernel's ephemeral range, or in a range given), the check that a host port is free before
// anything is created, and `box port`'s lines.
//
// A port is taken when a host process listens on it (TCP) or has bound it (UDP), read from
// /proc/net/{tcp,udp}{,6} of the host's network namespace, when another container of the root
// publishes it (the caller passes those, from the container records), or when another storage
// root's box table holds it (read from the kernel). Box publishes through nftables DNAT only (no
// proxy process), on IPv4 host addresses.
import * as fs from 'node:fs';
import { BoxError } from '../errors';
import type { Roots } from '../paths';
import type { BoxRuleset } from './nft-ruleset';
import { portsPublishedByOtherRoots } from './nftables';
import type { PortProtocol, PublishedPort } from './published-port';

export type { PortProtocol, PublishedPort } from './published-port';

/** One `-p` binding, as Docker's HostConfig.PortBindings keeps it. */
export interface PortBinding {
  containerPort: number;
  protocol: PortProtocol;
  /** '' = every host address */
  hostIp: string;
  /** '' = a random free port; 'N'; 'A-B' = a free port in that range */
  hostPort: string;
}

/** A port box has published: what a container record keeps and `box port` prints. */

const ANY_IPV4 = '0.0.0.0';
const FORMS = '-p [IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/tcp|udp] or -p published=HOST,target=CONTAINER';

function bad(message: string): BoxError {
  return new BoxError(`${message} (expected ${FORMS})`);
}

// strconv.ParseUint(s, 10, 16): digits only, at most 65535 (leading zeros allowed)
function parsePort(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

// go-connections' ParsePortRange
function parseRange(s: string): [number, number] | undefined {
  if (s === '') return undefined;
  if (!s.includes('-')) {
    const p = parsePort(s);
    return p === undefined ? undefined : [p, p];
  }
  const [a, b] = s.split('-');
  const start = parsePort(a);
  const end = parsePort(b);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

// go-connections' splitParts: the last part is the container's, the one before it the host's
// port, and whatever precedes them the IP (which may itself hold colons: IPv6).
function splitParts(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', hostPort: '', containerPort: parts[0] };
  if (n === 2) return { ip: '', hostPort: parts[0], containerPort: parts[1] };
  return { ip: parts.slice(0, n - 2).join(':'), hostPort: parts[n - 2], containerPort: parts[n - 1] };
}

// go-connections' SplitProtoPort
function splitProto(raw: string): { proto: string; port: string } {
  const parts = raw.split('/');
  if (raw === '' || parts[0] === '') return { proto: '', port: '' };
  if (parts.length === 1 || parts[1] === '') return { proto: 'tcp', port: parts[0] };
  return { proto: parts[1], port: parts[0] };
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

// The docker CLI's convertToStandardNotation: `published=8080,target=80[,protocol=udp]` is
// `8080:80/udp` (other keys, such as mode, are accepted and ignored).
function standardNotation(raw: string): string {
  if (!raw.includes('=')) return raw;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of raw.split(',')) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw bad(`invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  return `${params.published ?? ''}:${params.target ?? ''}/${params.protocol}`;
}

/** The bindings of one `-p` value; a one-line BoxError (exit 125) for anything Docker refuses. */
export function parsePublish(value: string): PortBinding[] {
  const raw = standardNotation(value);
  const split = splitParts(raw);
  let ip = split.ip;
  const { hostPort } = split;
  const { proto, port: containerPort } = splitProto(split.containerPort);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && !isIPv4(ip)) {
    if (ip.includes(':')) throw new BoxError(`box publishes ports on IPv4 host addresses only, not ${ip}`);
    throw bad(`invalid IP address: ${ip}`);
  }
  if (containerPort === '') throw bad(`no port specified: ${raw}<empty>`);
  const inner = parseRange(containerPort);
  if (!inner || inner[0] === 0) throw bad(`invalid containerPort: ${containerPort}`);
  let outer: [number, number] = [0, 0];
  if (hostPort !== '') {
    const r = parseRange(hostPort);
    if (!r) throw bad(`invalid hostPort: ${hostPort}`);
    outer = r;
  }
  const innerCount = inner[1] - inner[0];
  if (hostPort !== '' && innerCount !== outer[1] - outer[0] && innerCount !== 0) {
    throw bad(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const protocol = proto.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') {
    if (protocol === 'sctp') throw new BoxError('box publishes tcp and udp ports, not sctp');
    throw bad(`invalid proto: ${proto}`);
  }
  const out: PortBinding[] = [];
  for (let i = 0; i <= innerCount; i++) {
    let host = '';
    if (hostPort !== '') {
      // one container port and a host range: any free port of that range
      host = innerCount === 0 && outer[0] !== outer[1] ? `${outer[0]}-${outer[1]}` : String(outer[0] + i);
    }
    if (host === '0') host = ''; // Docker: host port 0 is a random one
    out.push({ containerPort: inner[0] + i, protocol, hostIp: ip, hostPort: host });
  }
  return out;
}

/**
 * `-P`: each exposed port ("80/tcp", "53/udp", "8080") not already bound by `-p` gets a random host
 * port on every address, as Docker does. Protocols box cannot publish are left out.
 */
export function withExposedPorts(bindings: PortBinding[], exposed: string[]): PortBinding[] {
  const out = [...bindings];
  for (const key of exposed) {
    const { proto, port } = splitProto(key);
    const range = parseRange(port);
    const protocol = proto.toLowerCase();
    if (!range || (protocol !== 'tcp' && protocol !== 'udp')) continue;
    for (let p = range[0]; p <= range[1]; p++) {
      if (p === 0 || out.some((b) => b.containerPort === p && b.protocol === protocol)) continue;
      out.push({ containerPort: p, protocol, hostIp: '', hostPort: '' });
    }
  }
  return out;
}

// --- host ports in use

/** The kernel's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range), Docker's pool. */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // no procfs: the kernel's default
  }
  return [32768, 60999];
}

/** A socket bound on the host: its local address ('0.0.0.0' for any; IPv6 any as '::') and port. */
export interface HostSocket {
  address: string;
  port: number;
  protocol: PortProtocol;
}

const TCP_LISTEN = '0A';

// /proc/net/tcp's local_address: the address as the kernel's 32-bit words in host order, hex.
function procAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    bytes.writeUInt32LE(Number.parseInt(w, 16), i * 4);
  });
  if (bytes.length === 4) return [...bytes].join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is that IPv4 address; other IPv6 addresses only matter as "::"
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return [...bytes.subarray(12)].join('.');
  return bytes.every((b) => b === 0) ? '::' : 'ipv6';
}

/** Listening TCP sockets and bound UDP sockets of this network namespace. */
export function hostSockets(procNet = '/proc/net'): HostSocket[] {
  const out: HostSocket[] = [];
  for (const [file, protocol] of [
    ['tcp', 'tcp'],
    ['tcp6', 'tcp'],
    ['udp', 'udp'],
    ['udp6', 'udp'],
  ] as const) {
    let text: string;
    try {
      text = fs.readFileSync(`${procNet}/${file}`, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      if (protocol === 'tcp' && cols[3] !== TCP_LISTEN) continue;
      const [addr, port] = cols[1].split(':');
      out.push({ address: procAddress(addr), port: Number.parseInt(port, 16), protocol });
    }
  }
  return out;
}

// Two bindings of one port clash unless both name specific, different addresses.
function clash(a: string, b: string): boolean {
  const any = (x: string) => x === '' || x === ANY_IPV4 || x === '::';
  return any(a) || any(b) || a === b;
}

/** Who holds host port `port`/`protocol` on `hostIp`: a description, or undefined when free. */
export function holderOf(
  hostIp: string,
  port: number,
  protocol: PortProtocol,
  sockets: HostSocket[],
  published: PublishedPort[],
): string | undefined {
  if (published.some((p) => p.hostPort === port && p.protocol === protocol && clash(p.hostIp, hostIp)))
    return 'a container';
  if (
    sockets.some((s) => s.port === port && s.protocol === protocol && s.address !== 'ipv6' && clash(s.address, hostIp))
  )
    return 'a process on the host';
  return undefined;
}

/**
 * Host ports for `bindings`: the ones asked for, checked free, and for the others a free one at
 * random in their range (the ephemeral range when none is given). `published` are the ports other
 * containers hold. Throws a one-line BoxError before anything is created.
 */
export function assignHostPorts(
  bindings: PortBinding[],
  published: PublishedPort[],
  sockets: HostSocket[] = hostSockets(),
  random: () => number = Math.random,
): PublishedPort[] {
  const chosen: PublishedPort[] = [];
  for (const b of bindings) {
    const hostIp = b.hostIp === '' ? ANY_IPV4 : b.hostIp;
    const range = b.hostPort === '' ? ephemeralRange() : parseRange(b.hostPort)!;
    const taken = [...published, ...chosen];
    let port: number | undefined;
    if (range[0] === range[1]) {
      const holder =
        holderOf(hostIp, range[0], b.protocol, [], chosen) !== undefined
          ? 'another -p of this container'
          : holderOf(hostIp, range[0], b.protocol, sockets, published);
      if (holder) {
        throw new BoxError(
          `Bind for ${hostIp}:${range[0]} failed: port is already allocated (by ${holder}); ` +
            `publish ${b.containerPort}/${b.protocol} on another host port`,
        );
      }
      port = range[0];
    } else {
      const size = range[1] - range[0] + 1;
      const start = Math.floor(random() * size);
      for (let i = 0; i < size && port === undefined; i++) {
        const p = range[0] + ((start + i) % size);
        if (!holderOf(hostIp, p, b.protocol, sockets, taken)) port = p;
      }
      if (port === undefined) {
        throw new BoxError(
          `no free host port in ${range[0]}-${range[1]} on ${hostIp} for ${b.containerPort}/${b.protocol}; ` +
            'free one or give another range',
        );
      }
    }
    chosen.push({ hostIp, hostPort: port, containerPort: b.containerPort, protocol: b.protocol });
  }
  return chosen;
}

/**
 * Host ports for a new container's `bindings` (see assignHostPorts), checked against the host's
 * sockets, the ports `publishedInRoot` (this storage root's other containers, from their records)
 * and those other roots' box tables hold in the kernel.
 */
export function hostPortsFor(
  roots: Pick<Roots, 'root'>,
  bindings: PortBinding[],
  publishedInRoot: PublishedPort[],
): PublishedPort[] {
  if (bindings.length === 0) return [];
  return assignHostPorts(bindings, [...publishedInRoot, ...portsPublishedByOtherRoots(roots)]);
}

/**
 * A start's check of the host ports its container got at create: something (a host process, a
 * container of this or another root) may have taken one since. Throws a one-line BoxError before
 * anything of the start exists. `publishedInRoot`: this root's running containers' ports.
 */
export function checkHostPortsStillFree(
  roots: Pick<Roots, 'root'>,
  ports: PublishedPort[],
  publishedInRoot: PublishedPort[],
): void {
  if (ports.length === 0) return;
  const sockets = hostSockets();
  const published = [...publishedInRoot, ...portsPublishedByOtherRoots(roots)];
  for (const p of ports) {
    const holder = holderOf(p.hostIp, p.hostPort, p.protocol, sockets, published);
    if (holder) {
      throw new BoxError(
        `Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated (by ${holder}); ` +
          `free it, or create the container again publishing ${p.containerPort}/${p.protocol} on another host port`,
      );
    }
  }
}

// --- box port

/**
 * `box port`'s lines, in Docker's format: `80/tcp -> 0.0.0.0:8080` for every port, or only the
 * host side (`0.0.0.0:8080`) for `PRIVATE[/PROTO]` (tcp when no protocol is given).
 */
export function portLines(ports: PublishedPort[], containerName: string, privateSpec?: string): string[] {
  if (privateSpec !== undefined) {
    const { proto, port } = splitProto(privateSpec);
    const n = parsePort(port);
    if (n === undefined) throw new BoxError(`invalid port ${JSON.stringify(privateSpec)}: give PORT or PORT/PROTO`);
    const protocol = proto.toLowerCase();
    const lines = ports
      .filter((p) => p.containerPort === n && p.protocol === protocol)
      .map((p) => `${p.hostIp}:${p.hostPort}`);
    if (lines.length === 0) throw new BoxError(`no public port '${n}/${protocol}' published for ${containerName}`);
    return lines;
  }
  return [...ports]
    .sort(
      (a, b) =>
        a.containerPort - b.containerPort ||
        a.protocol.localeCompare(b.protocol) ||
        a.hostIp.localeCompare(b.hostIp) ||
        a.hostPort - b.hostPort,
    )
    .map((p) => `${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}`);
}

/** A container's published ports as the ruleset's DNAT entries (its address `containerIp` on `bridge`). */
export function rulesetPorts(ports: PublishedPort[], containerIp: string, bridge: string): BoxRuleset['ports'] {
  return ports.map((p) => ({
    hostIp: p.hostIp === ANY_IPV4 ? undefined : p.hostIp,
    hostPort: p.hostPort,
    containerIp,
    containerPort: p.containerPort,
    protocol: p.protocol,
    bridge,
  }));
}
