// Stale UDP flows to published ports, forgotten through ctnetlink. NAT is decided on a flow's
// first packet only: a client that keeps sending UDP to a host port (DNS, syslog, statsd) holds a
// conntrack entry made before the port was published, or when it led to a container that is gone,
// and its packets keep going there instead of to the container now publishing the port, for as
// long as it sends (Docker's moby#8795). TCP needs none of this: a new connection is a new flow.
//
// A flow is stale when it is UDP to a published host port on one of the host's addresses (the
// port's own address when it names one) and its reply does not come from the container and port
// the ruleset now names. Flows that are right are left alone.
import { Attrs, attr, NETLINK_NETFILTER, NetlinkError, nested, openNetlink } from '../linux/netlink';
import { hostRoute, listAddresses } from './links';
import type { BoxRuleset } from './nft-ruleset';

const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_GET = 1;
const IPCTNL_MSG_CT_DELETE = 2;
const AF_INET = 2;
const IPPROTO_UDP = 17;

const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_STATUS = 3;
const CTA_ZONE = 18;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;
const IPS_DST_NAT = 1 << 5;

interface Tuple {
  src: string;
  dst: string;
  proto: number;
  srcPort: number;
  dstPort: number;
}

/** A conntrack entry as far as this module needs it, and the raw attributes that name it. */
export interface Flow {
  orig: Tuple;
  reply: Tuple;
  dnat: boolean;
  /** CTA_TUPLE_ORIG's payload and CTA_ZONE's: what a delete request must repeat. */
  key: { tuple: Buffer; zone?: Buffer };
}

const ip4 = (b: Buffer | undefined): string => (b && b.length === 4 ? [...b].join('.') : '');

function tuple(a: Attrs | undefined): Tuple {
  const ip = a?.nested(CTA_TUPLE_IP);
  const proto = a?.nested(CTA_TUPLE_PROTO);
  return {
    src: ip4(ip?.get(CTA_IP_V4_SRC)),
    dst: ip4(ip?.get(CTA_IP_V4_DST)),
    proto: proto?.u8(CTA_PROTO_NUM) ?? 0,
    srcPort: proto?.get(CTA_PROTO_SRC_PORT)?.readUInt16BE(0) ?? 0,
    dstPort: proto?.get(CTA_PROTO_DST_PORT)?.readUInt16BE(0) ?? 0,
  };
}

function nfgenmsg(family: number): Buffer {
  return Buffer.from([family, 0, 0, 0]);
}

const ctType = (msg: number): number => (NFNL_SUBSYS_CTNETLINK << 8) | msg;

/** The host's IPv4 flows (conntrack's table of the calling thread's netns). */
export function listFlows(): Flow[] {
  const sock = openNetlink(NETLINK_NETFILTER);
  try {
    return sock.dump('list conntrack flows', ctType(IPCTNL_MSG_CT_GET), nfgenmsg(AF_INET)).map((m) => {
      const a = Attrs.parse(m.payload, 4);
      return {
        orig: tuple(a.nested(CTA_TUPLE_ORIG)),
        reply: tuple(a.nested(CTA_TUPLE_REPLY)),
        dnat: ((a.u32be(CTA_STATUS) ?? 0) & IPS_DST_NAT) !== 0,
        key: { tuple: a.get(CTA_TUPLE_ORIG) ?? Buffer.alloc(0), zone: a.get(CTA_ZONE) },
      };
    });
  } finally {
    sock.close();
  }
}

/** The flows among `flows` that `ports` make stale (see the file's comment). */
export function staleUdpFlows(flows: Flow[], ports: BoxRuleset['ports'], hostAddresses: string[]): Flow[] {
  const isHostAddress = (a: string): boolean => a.startsWith('127.') || hostAddresses.includes(a);
  return flows.filter((f) => {
    if (f.orig.proto !== IPPROTO_UDP) return false;
    const port = ports.find(
      (p) =>
        p.protocol === 'udp' &&
        p.hostPort === f.orig.dstPort &&
        (p.hostIp === undefined || p.hostIp === '0.0.0.0' ? isHostAddress(f.orig.dst) : p.hostIp === f.orig.dst),
    );
    if (!port) return false;
    const right = f.dnat && f.reply.src === port.containerIp && f.reply.srcPort === port.containerPort;
    return !right;
  });
}

/** Forgets the UDP flows that `ports` make stale; returns how many. */
export function forgetStaleUdpFlows(ports: BoxRuleset['ports']): number {
  if (!ports.some((p) => p.protocol === 'udp')) return 0;
  const hostAddresses = listAddresses(hostRoute(), undefined, 4).map((a) => a.address);
  const stale = staleUdpFlows(listFlows(), ports, hostAddresses);
  if (stale.length === 0) return 0;
  const sock = openNetlink(NETLINK_NETFILTER);
  try {
    for (const f of stale) {
      const attrs = [nested(CTA_TUPLE_ORIG, [f.key.tuple])];
      if (f.key.zone) attrs.push(attr(CTA_ZONE, f.key.zone));
      try {
        sock.request('forget a conntrack flow', {
          type: ctType(IPCTNL_MSG_CT_DELETE),
          payload: Buffer.concat([nfgenmsg(AF_INET), ...attrs]),
        });
      } catch (err) {
        if (!(err instanceof NetlinkError && err.code === 'ENOENT')) throw err; // it ended meanwhile
      }
    }
  } finally {
    sock.close();
  }
  return stale.length;
}
