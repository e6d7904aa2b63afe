// Links, addresses and routes through rtnetlink (src/linux/netlink.ts): bridges, veth pairs whose
// peer is born inside a container's netns, bridge-port settings, and the few sysctls networking
// needs. Every function acts in the host's network namespace unless given a socket opened in
// another one (openNetlink(NETLINK_ROUTE, { netnsPid })). No host program is ever run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ipaddr } from './ipaddr';
import { BoxError } from '../errors';
import {
  Attrs,
  attr,
  attrString,
  attrU8,
  attrU32,
  NETLINK_ROUTE,
  NetlinkError,
  NetlinkSocket,
  NLM_F_CREATE,
  NLM_F_EXCL,
  nested,
  openNetlink,
} from '../linux/netlink';
import { openNetnsOf } from '../linux/netns';
import { randomBytesSync } from '../util/random';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_SETLINK = 19;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_BRIDGE = 7;
const AF_INET6 = 10;

const IFF_UP = 0x1;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_PROTINFO = 12;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_BRPORT_MODE = 4; // hairpin

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_TABLE = 15;
const RT_TABLE_MAIN = 254;
const RTPROT_STATIC = 4;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

/** What the kernel's IFLA_OPERSTATE values mean (RFC 2863), as `ip link` prints them. */
const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

const EXFULL = 54; // a bridge out of port numbers; Node's os.constants.errno lacks it

/** Linux's limit on a bridge's ports (BR_MAX_PORTS less port 0). */
export const BRIDGE_MAX_PORTS = 1023;

let hostSocket: NetlinkSocket | undefined;

/** This process's rtnetlink socket in the host netns, opened on first use and kept (close-on-exec). */
export function hostRoute(): NetlinkSocket {
  hostSocket ??= openNetlink(NETLINK_ROUTE);
  return hostSocket;
}

// --- Message bodies

/** struct ifinfomsg: family, type, index, flags, change. */
function ifinfomsg(opts: { family?: number; index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(opts.family ?? AF_UNSPEC, 0);
  b.writeInt32LE(opts.index ?? 0, 4);
  b.writeUInt32LE(opts.flags ?? 0, 8);
  b.writeUInt32LE(opts.change ?? 0, 12);
  return b;
}

/** ifi_flags/ifi_change asking for IFF_UP (or none when `up` is false). */
function upFlags(up: boolean): { flags: number; change: number } {
  return up ? { flags: IFF_UP, change: IFF_UP } : { flags: 0, change: 0 };
}

function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new BoxError(`invalid MAC address ${JSON.stringify(mac)}: use six hex pairs like 02:42:ac:11:00:02`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

function macString(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A random locally administered unicast MAC (what Docker gives containers and bridges). */
export function randomMac(): string {
  const b = randomBytesSync(6); // not node:crypto: this module is on every start's path
  b[0] = (b[0] & 0xfe) | 0x02;
  return macString(b);
}

// --- Links

export interface LinkInfo {
  name: string;
  index: number;
  /** The IFLA_INFO_KIND ("bridge", "veth", ...); undefined for plain devices (lo, eth0 of a VM). */
  kind?: string;
  masterIndex?: number;
  master?: string;
  mtu: number;
  /** The operational state as `ip link` shows it: "up", "down", "lowerlayerdown", "unknown"... */
  state: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  mac?: string;
}

function decodeLink(payload: Buffer): LinkInfo {
  const index = payload.readInt32LE(4);
  const flags = payload.readUInt32LE(8);
  const a = Attrs.parse(payload, 16);
  const address = a.get(IFLA_ADDRESS);
  return {
    name: a.str(IFLA_IFNAME) ?? '',
    index,
    kind: a.nested(IFLA_LINKINFO)?.str(IFLA_INFO_KIND),
    masterIndex: a.u32(IFLA_MASTER),
    mtu: a.u32(IFLA_MTU) ?? 0,
    state: OPERSTATES[a.u8(IFLA_OPERSTATE) ?? 0] ?? 'unknown',
    up: (flags & IFF_UP) !== 0,
    mac: address?.length === 6 ? macString(address) : undefined,
  };
}

/** Every link of the namespace, with its master's name filled in. */
export function listLinks(nl: NetlinkSocket = hostRoute()): LinkInfo[] {
  const links = nl.dump('list links', RTM_GETLINK, ifinfomsg()).map((m) => decodeLink(m.payload));
  const names = new Map(links.map((l) => [l.index, l.name]));
  for (const l of links) if (l.masterIndex !== undefined) l.master = names.get(l.masterIndex);
  return links;
}

/** One link by name or index; undefined when there is none. */
export function getLink(link: string | number, nl: NetlinkSocket = hostRoute()): LinkInfo | undefined {
  const payload =
    typeof link === 'number' ? ifinfomsg({ index: link }) : Buffer.concat([ifinfomsg(), attrString(IFLA_IFNAME, link)]);
  try {
    const [reply] = nl.request(`get link ${link}`, { type: RTM_GETLINK, payload });
    return reply ? decodeLink(reply.payload) : undefined;
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENODEV') return undefined;
    throw err;
  }
}

export function linkIndex(name: string, nl: NetlinkSocket = hostRoute()): number | undefined {
  return getLink(name, nl)?.index;
}

function requireIndex(link: string | number, nl: NetlinkSocket): number {
  if (typeof link === 'number') return link;
  const index = linkIndex(link, nl);
  if (index === undefined) throw new BoxError(`network interface ${link} does not exist`);
  return index;
}

/** Deletes a link by name (a veth's peer goes with it); false when there was none. */
export function deleteLink(name: string, nl: NetlinkSocket = hostRoute()): boolean {
  try {
    nl.request(`delete link ${name}`, {
      type: RTM_DELLINK,
      payload: Buffer.concat([ifinfomsg(), attrString(IFLA_IFNAME, name)]),
    });
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENODEV') return false;
    throw err;
  }
}

/** Sets a link's MTU and/or administrative state. */
export function setLink(
  link: string | number,
  change: { up?: boolean; mtu?: number },
  nl: NetlinkSocket = hostRoute(),
): void {
  // By index, or by name in IFLA_IFNAME (one request fewer than looking the index up).
  const index = typeof link === 'number' ? link : 0;
  const flags = change.up === undefined ? {} : { flags: change.up ? IFF_UP : 0, change: IFF_UP };
  const attrs = typeof link === 'string' ? [attrString(IFLA_IFNAME, link)] : [];
  if (change.mtu !== undefined) attrs.push(attrU32(IFLA_MTU, change.mtu));
  nl.request(`set link ${link}`, {
    type: RTM_NEWLINK,
    payload: Buffer.concat([ifinfomsg({ index, ...flags }), ...attrs]),
  });
}

/** Hairpin mode on a bridge port: frames may leave by the port they came in (a container reaching its own published port). */
export function setHairpin(port: string | number, on: boolean, nl: NetlinkSocket = hostRoute()): void {
  const index = requireIndex(port, nl);
  nl.request(`set hairpin ${on ? 'on' : 'off'} on bridge port ${port}`, {
    type: RTM_SETLINK,
    payload: Buffer.concat([
      ifinfomsg({ family: AF_BRIDGE, index }),
      nested(IFLA_PROTINFO, [attrU8(IFLA_BRPORT_MODE, on ? 1 : 0)]),
    ]),
  });
}

export interface BridgeSpec {
  name: string;
  /** The gateway's address with the subnet's prefix, e.g. 10.89.0.1/24. */
  address: string;
  mtu: number;
}

/**
 * Makes sure a bridge exists, up, with this MTU and address; returns its index. Safe to run
 * concurrently: whoever loses the race to create it finds it made. A bridge keeps a fixed random
 * MAC (otherwise it takes its ports' lowest, and changes as containers come and go).
 */
export function ensureBridge(spec: BridgeSpec, nl: NetlinkSocket = hostRoute()): number {
  const cidr = parseCidr(spec.address);
  let link = getLink(spec.name, nl);
  if (!link) {
    try {
      nl.request(`create bridge ${spec.name}`, {
        type: RTM_NEWLINK,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        payload: Buffer.concat([
          ifinfomsg(upFlags(true)),
          attrString(IFLA_IFNAME, spec.name),
          attrU32(IFLA_MTU, spec.mtu),
          attr(IFLA_ADDRESS, macBytes(randomMac())),
          nested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, 'bridge')]),
        ]),
      });
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'EEXIST')) throw err;
    }
    link = getLink(spec.name, nl);
    if (!link) throw new Error(`bridge ${spec.name} vanished as it was created`);
  }
  if (link.kind !== 'bridge')
    throw new BoxError(
      `network interface ${spec.name} exists and is not a bridge (${link.kind ?? 'a device'}): choose another bridge name`,
    );
  if (link.mtu !== spec.mtu || !link.up) setLink(link.index, { up: true, mtu: spec.mtu }, nl);
  const has = listAddresses(nl, link.index, cidr.family).some(
    (a) => a.address === cidr.address && a.prefixLength === cidr.prefixLength,
  );
  if (!has) {
    try {
      addAddress(link.index, spec.address, nl);
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'EEXIST')) throw err;
    }
  }
  return link.index;
}

export interface VethSpec {
  /** The end left in the calling namespace (the host), enslaved to `master`. */
  hostName: string;
  /** The end created directly in the netns of `peerNetnsPid`, under this name (eth0...). */
  peerName: string;
  peerNetnsPid: number;
  master?: string | number;
  mtu: number;
  /** The peer's MAC; the kernel picks one otherwise. */
  mac?: string;
  /**
   * The host end up at once (the default). The peer always starts down: the kernel opens it before
   * the pair is joined and refuses (ENOTCONN), so a socket in its netns brings it up afterwards.
   */
  up?: boolean;
}

/**
 * Creates a veth pair in one request, its peer born in the target netns (IFLA_NET_NS_FD), so the
 * kernel destroys the pair with that namespace. Returns the host end's index. A bridge already
 * holding its 1023 ports is a one-line error naming it (the kernel undoes the half-made pair).
 */
export function createVeth(spec: VethSpec, nl: NetlinkSocket = hostRoute()): number {
  const hostFlags = upFlags(spec.up ?? true);
  const masterIndex = spec.master === undefined ? undefined : requireIndex(spec.master, nl);
  const netnsFd = openNetnsOf(spec.peerNetnsPid);
  const operation = `create veth ${spec.hostName} (peer ${spec.peerName} in the netns of process ${spec.peerNetnsPid})`;
  try {
    const peer = Buffer.concat([
      ifinfomsg(),
      attrString(IFLA_IFNAME, spec.peerName),
      attrU32(IFLA_NET_NS_FD, netnsFd),
      attrU32(IFLA_MTU, spec.mtu),
      ...(spec.mac ? [attr(IFLA_ADDRESS, macBytes(spec.mac))] : []),
    ]);
    nl.request(operation, {
      type: RTM_NEWLINK,
      flags: NLM_F_CREATE | NLM_F_EXCL,
      payload: Buffer.concat([
        ifinfomsg(hostFlags),
        attrString(IFLA_IFNAME, spec.hostName),
        attrU32(IFLA_MTU, spec.mtu),
        ...(masterIndex === undefined ? [] : [attrU32(IFLA_MASTER, masterIndex)]),
        nested(IFLA_LINKINFO, [
          attrString(IFLA_INFO_KIND, 'veth'),
          nested(IFLA_INFO_DATA, [attr(VETH_INFO_PEER, peer)]),
        ]),
      ]),
    });
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === EXFULL) {
      const bridge = typeof spec.master === 'number' ? (getLink(spec.master, nl)?.name ?? spec.master) : spec.master;
      throw new BoxError(
        `bridge ${bridge} already has ${BRIDGE_MAX_PORTS} ports, the most a Linux bridge takes: ` +
          'put further containers on another network',
      );
    }
    throw err;
  } finally {
    fs.closeSync(netnsFd);
  }
  return requireIndex(spec.hostName, nl);
}

// --- Addresses

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

/** "10.89.0.2/24" -> its parts; a one-line error for anything else. */
export function parseCidr(cidr: string): Cidr {
  try {
    const [addr, prefix] = ipaddr().parseCIDR(cidr);
    return { family: addr.kind() === 'ipv4' ? 4 : 6, address: addr.toString(), prefixLength: prefix };
  } catch {
    throw new BoxError(`invalid address ${JSON.stringify(cidr)}: use ADDRESS/PREFIX, e.g. 10.89.0.1/24`);
  }
}

export interface AddressInfo extends Cidr {
  index: number;
}

function ifaddrmsg(c: Cidr, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(c.family === 4 ? AF_INET : AF_INET6, 0);
  b.writeUInt8(c.prefixLength, 1);
  b.writeUInt32LE(index, 4);
  return b;
}

function addressBytes(address: string): Buffer {
  return Buffer.from(ipaddr().parse(address).toByteArray());
}

/** An address as the kernel gives it (4 or 16 bytes), as text. */
function addressText(bytes: Uint8Array): string {
  return ipaddr()
    .fromByteArray([...bytes])
    .toString();
}

function addressRequest(link: string | number, cidr: string, nl: NetlinkSocket): Buffer {
  const c = parseCidr(cidr);
  const index = requireIndex(link, nl);
  const bytes = addressBytes(c.address);
  const attrs = [attr(IFA_LOCAL, bytes), attr(IFA_ADDRESS, bytes)];
  if (c.family === 4 && c.prefixLength < 31) {
    // The broadcast address `ip addr add ... brd +` would set: every host bit on.
    const host = (2 ** (32 - c.prefixLength) - 1) >>> 0;
    const brd = Buffer.alloc(4);
    brd.writeUInt32BE((bytes.readUInt32BE(0) | host) >>> 0, 0);
    attrs.push(attr(IFA_BROADCAST, brd));
  }
  return Buffer.concat([ifaddrmsg(c, index), ...attrs]);
}

/** Adds ADDRESS/PREFIX to a link (the kernel adds the subnet's route); EEXIST when it is there. */
export function addAddress(link: string | number, cidr: string, nl: NetlinkSocket = hostRoute()): void {
  nl.request(`add address ${cidr} to ${link}`, {
    type: RTM_NEWADDR,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    payload: addressRequest(link, cidr, nl),
  });
}

export function deleteAddress(link: string | number, cidr: string, nl: NetlinkSocket = hostRoute()): void {
  nl.request(`delete address ${cidr} from ${link}`, { type: RTM_DELADDR, payload: addressRequest(link, cidr, nl) });
}

/** The namespace's addresses, or one link's (filtered by the kernel), of one family or both. */
export function listAddresses(nl: NetlinkSocket = hostRoute(), index?: number, family?: 4 | 6): AddressInfo[] {
  const request = Buffer.alloc(8); // ifaddrmsg: family and index filter the dump (strict checking)
  if (family) request.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  if (index !== undefined) request.writeUInt32LE(index, 4);
  const out: AddressInfo[] = [];
  for (const m of nl.dump('list addresses', RTM_GETADDR, request)) {
    const af = m.payload.readUInt8(0);
    const ifindex = m.payload.readUInt32LE(4);
    if (index !== undefined && ifindex !== index) continue;
    const a = Attrs.parse(m.payload, 8);
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point links.
    const bytes = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
    if (!bytes || (af !== AF_INET && af !== AF_INET6)) continue;
    out.push({
      family: af === AF_INET ? 4 : 6,
      address: addressText(bytes),
      prefixLength: m.payload.readUInt8(1),
      index: ifindex,
    });
  }
  return out;
}

// --- Routes

export interface RouteSpec {
  /** Destination ADDRESS/PREFIX; the default route when absent. */
  destination?: string;
  gateway?: string;
  /** The outgoing link. */
  link: string | number;
}

/** Adds a route to the main table (`ip route add [DST|default] [via GW] dev LINK`). */
export function addRoute(route: RouteSpec, nl: NetlinkSocket = hostRoute()): void {
  const dst = route.destination ? parseCidr(route.destination) : undefined;
  const family = dst?.family ?? (route.gateway && ipaddr().parse(route.gateway).kind() === 'ipv6' ? 6 : 4);
  const index = requireIndex(route.link, nl);
  const rtmsg = Buffer.alloc(12);
  rtmsg.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  rtmsg.writeUInt8(dst?.prefixLength ?? 0, 1);
  rtmsg.writeUInt8(RT_TABLE_MAIN, 4);
  rtmsg.writeUInt8(RTPROT_STATIC, 5);
  rtmsg.writeUInt8(RT_SCOPE_UNIVERSE, 6);
  rtmsg.writeUInt8(RTN_UNICAST, 7);
  const attrs = [attrU32(RTA_OIF, index)];
  if (dst) attrs.push(attr(RTA_DST, addressBytes(dst.address)));
  if (route.gateway) attrs.push(attr(RTA_GATEWAY, addressBytes(route.gateway)));
  const what = `${route.destination ?? 'default'}${route.gateway ? ` via ${route.gateway}` : ''} dev ${route.link}`;
  nl.request(`add route ${what}`, {
    type: RTM_NEWROUTE,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    payload: Buffer.concat([rtmsg, ...attrs]),
  });
}

export interface RouteInfo {
  family: 4 | 6;
  /** ADDRESS/PREFIX, "0.0.0.0/0" or "::/0" for a default route. */
  destination: string;
  gateway?: string;
  index?: number;
  table: number;
}

/** The routes of every table (local and main included), for callers choosing a subnet nobody uses. */
export function listRoutes(nl: NetlinkSocket = hostRoute()): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const m of nl.dump('list routes', RTM_GETROUTE, Buffer.alloc(12))) {
    const family = m.payload.readUInt8(0);
    if (family !== AF_INET && family !== AF_INET6) continue;
    const a = Attrs.parse(m.payload, 12);
    const dst = a.get(RTA_DST);
    const gw = a.get(RTA_GATEWAY);
    const zero = family === AF_INET ? '0.0.0.0' : '::';
    out.push({
      family: family === AF_INET ? 4 : 6,
      destination: `${dst ? addressText(dst) : zero}/${m.payload.readUInt8(1)}`,
      gateway: gw ? addressText(gw) : undefined,
      index: a.u32(RTA_OIF),
      table: a.u32(RTA_TABLE) ?? m.payload.readUInt8(4),
    });
  }
  return out;
}

// --- Sysctls (the calling thread's netns: the host's)

/** Writes /proc/sys/<segments...> when it does not already hold `value`. Segments, not dots: interface names may hold dots. */
export function writeSysctl(segments: string[], value: string): void {
  const file = path.join('/proc/sys', ...segments);
  if (segments.some((s) => s.includes('/') || s === '..' || s === '')) throw new Error(`invalid sysctl path ${file}`);
  if (fs.readFileSync(file, 'utf8').trim() === value) return;
  fs.writeFileSync(file, value);
}

/** Whether net.ipv4.ip_forward is on now (`box info`). */
export function ipForwardEnabled(): boolean {
  return fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
}

/** net.ipv4.ip_forward=1: the host routes between its bridges and the outside (NAT needs it). */
export function enableIpForward(): void {
  writeSysctl(['net', 'ipv4', 'ip_forward'], '1');
}

/** net.ipv4.conf.<link>.route_localnet: lets DNAT from 127.0.0.1 to a container leave through that bridge. */
export function setRouteLocalnet(link: string, on: boolean): void {
  writeSysctl(['net', 'ipv4', 'conf', link, 'route_localnet'], on ? '1' : '0');
}
