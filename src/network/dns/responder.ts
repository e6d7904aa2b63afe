// A network's DNS responder: the box executable run as `box internal dns`, detached, one per
// user-defined network, listening on the network's gateway address, port 53, UDP and TCP, in the
// host's network namespace. It answers the names of the network's containers from the names
// file (answer.ts) and forwards the rest to the host's resolvers (forward.ts).
//
// No daemon: it is started by the first container of its network (ensure.ts) and ends by itself
// once the names file has been empty or absent for a short grace. The port is its mutex: only
// one process can hold it, and only the one that holds it writes the pid file.
//
// The names file is checked (one stat) before each query is answered, so an update is seen at
// once; a new table replaces the old one between two queries, and forwarded queries in flight
// keep their socket: no query is dropped by an update.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import { errnoCode } from '../../errors';
import { featurePaths, layout, Roots } from '../../paths';
import { writeJsonAtomic } from '../../util/fs';
import { ownerToken } from '../../util/owner';
import { answerQuery, buildNameTable, errorReply, NameTable, RCODE } from './answer';
import { firstMessage, forwardTcp, forwardUdp, withLength } from './forward';
import { readNames } from './names';
import { readResponderPid, ResponderPid } from './pid-file';
import { hostResolvers } from './resolvers';
import { tryLockDns } from '../locks';

export interface ResponderOptions {
  roots: Roots;
  networkId: string;
  /** the network's gateway address, where containers send their queries */
  address: string;
  /** the network's prefix length: only clients in the gateway's subnet are answered (default: the address's own) */
  prefixLength?: number;
  /** an --internal network: no way out, so nothing is forwarded either (as Docker 26+) */
  internal?: boolean;
  /** the network's name: `db.<domain>` resolves as `db` */
  domain: string;
  /** how long the names file stays empty before the responder ends */
  graceMs?: number;
}

const DNS_PORT = 53;
/** A UDP answer without EDNS0 is at most 512 bytes; a longer one is cut and flagged truncated (TC). */
const UDP_PLAIN_MAX = 512;
const UDP_EDNS_MAX = 1232;
/** How long binding the port is retried: a responder that just ended may still hold it. */
const BIND_RETRY_MS = 3000;
const TICK_MS = 500;
const TCP_IDLE_MS = 10_000;
const TCP_MAX_CONNECTIONS = 128;
/** Forwarded queries waiting for the host's resolvers (a socket each): more are answered SERVFAIL at once. */
const MAX_FORWARDING = 512;
let forwarding = 0;
/** How often the host's resolv.conf is read again (a laptop changes networks). */
const RESOLVERS_MAX_AGE_MS = 2000;

export async function runResponder(o: ResponderOptions): Promise<never> {
  const grace = o.graceMs ?? 2000;
  const names = new NamesWatch(o);
  const upstream = new Upstream(o.address, o.internal === true);
  const allowed = clientsOf(o);
  const udp = await bindUdp(o.address);
  const tcp = await listenTcp(o.address);
  udp.on('message', (msg, from) => {
    const answering = allowed(from.address) ? answerUdp(msg, names.table(), upstream) : refuse(msg);
    void answering.then((out) => {
      if (out) udp.send(out, from.port, from.address);
    });
  });
  tcp.on('connection', (socket) => {
    if (allowed(socket.remoteAddress ?? '')) serveTcp(socket, names, upstream);
    else socket.destroy();
  });
  const pid: ResponderPid = { token: ownerToken(), address: o.address };
  writeJsonAtomic(featurePaths.dnsPid(o.roots, o.networkId), pid, 0o600, false);

  let emptySince: number | undefined;
  return new Promise<never>(() => {
    setInterval(() => {
      if (names.table().byName.size > 0) emptySince = undefined;
      else if (emptySince === undefined) emptySince = Date.now();
      else if (Date.now() - emptySince >= grace) endIfStillEmpty(o);
    }, TICK_MS);
  });
}

/**
 * Who may ask: the network's own subnet (its containers) and the host itself. The gateway is a
 * host address that containers of other networks can reach too; they must not learn this
 * network's names from it. A query from the host may carry any of the host's addresses (a
 * masquerade rule for the subnet rewrites one sent from the gateway's address): those are
 * looked up only when a source is not in the subnet, which containers never are.
 */
function clientsOf(o: ResponderOptions): (address: string) => boolean {
  const subnet = new net.BlockList();
  subnet.addSubnet(o.address, o.prefixLength ?? prefixOf(o.address), 'ipv4');
  subnet.addSubnet('127.0.0.0', 8, 'ipv4');
  let host = new Set<string>();
  let readAt = 0;
  const hostAddress = (a: string) => {
    if (Date.now() - readAt > 1000) {
      host = new Set(Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
      readAt = Date.now();
    }
    return host.has(a);
  };
  return (address) => subnet.check(address, 'ipv4') || hostAddress(address);
}

/** The prefix length the address has on its interface (32, only itself, if it is on none). */
function prefixOf(address: string): number {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((a) => a.address === address);
    if (found?.cidr) return Number(found.cidr.split('/')[1]);
  }
  return 32;
}

/** REFUSED, for a client outside the network. */
async function refuse(msg: Buffer): Promise<Buffer | undefined> {
  try {
    const query = dnsPacket.decode(msg);
    return dnsPacket.encode(errorReply(query, RCODE.REFUSED));
  } catch {
    return undefined;
  }
}

/** The names table, read again whenever the file changed (inode, size or mtime). */
class NamesWatch {
  private stamp = '';
  private current: NameTable;
  constructor(private readonly o: ResponderOptions) {
    this.current = buildNameTable(o.networkId, o.domain, []);
  }

  table(): NameTable {
    const stamp = statStamp(featurePaths.dnsNames(this.o.roots, this.o.networkId));
    if (stamp !== this.stamp) {
      this.current = buildNameTable(this.o.networkId, this.o.domain, readNames(this.o.roots, this.o.networkId));
      this.stamp = stamp;
    }
    return this.current;
  }
}

function statStamp(file: string): string {
  try {
    const s = fs.statSync(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return 'absent';
  }
}

/** The host's resolvers, read again at most every RESOLVERS_MAX_AGE_MS. */
class Upstream {
  private servers: string[] = [];
  private readAt = 0;
  constructor(
    private readonly ownAddress: string,
    private readonly none: boolean,
  ) {}

  get(): string[] {
    if (this.none) return [];
    if (Date.now() - this.readAt > RESOLVERS_MAX_AGE_MS) {
      this.servers = hostResolvers([this.ownAddress]);
      this.readAt = Date.now();
    }
    return this.servers;
  }
}

/** The bytes to send back for one query, or undefined when it is not worth an answer (no header). */
async function respond(msg: Buffer, table: NameTable, upstream: Upstream, udp: boolean): Promise<Buffer | undefined> {
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return msg.length >= 12 ? formatError(msg) : undefined;
  }
  const local = answerQuery(query, table);
  if (local !== 'forward') return encode(local, query, udp);
  const servers = upstream.get();
  if (!servers.length || forwarding >= MAX_FORWARDING) return encode(errorReply(query, RCODE.SERVFAIL), query, udp);
  forwarding++;
  try {
    const answer = await (udp ? forwardUdp(msg, servers) : forwardTcp(msg, servers));
    return answer ?? encode(errorReply(query, RCODE.SERVFAIL), query, udp);
  } finally {
    forwarding--;
  }
}

function answerUdp(msg: Buffer, table: NameTable, upstream: Upstream): Promise<Buffer | undefined> {
  return respond(msg, table, upstream, true).catch(() => undefined);
}

/** Encodes a local answer; over UDP, one too long for the client is sent empty with TC set (it retries over TCP). */
function encode(packet: Packet, query: DecodedPacket, udp: boolean): Buffer {
  const out = dnsPacket.encode(packet);
  if (!udp) return out;
  const edns = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const max = edns
    ? Math.min(Math.max(edns.udpPayloadSize ?? UDP_PLAIN_MAX, UDP_PLAIN_MAX), UDP_EDNS_MAX)
    : UDP_PLAIN_MAX;
  if (out.length <= max) return out;
  return dnsPacket.encode({ ...packet, answers: [], flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
}

/** FORMERR for a message whose header is there but whose body is not DNS: the client learns at once. */
function formatError(msg: Buffer): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | RCODE.FORMERR, 2);
  return out;
}

let tcpConnections = 0;

/** One TCP client: length-prefixed queries, answered in turn, until it closes or idles. */
function serveTcp(socket: net.Socket, names: NamesWatch, upstream: Upstream): void {
  if (tcpConnections >= TCP_MAX_CONNECTIONS) {
    socket.destroy();
    return;
  }
  tcpConnections++;
  socket.on('close', () => tcpConnections--);
  socket.on('error', () => socket.destroy());
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  let pending = Buffer.alloc(0);
  let chain = Promise.resolve();
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (let m = firstMessage(pending); m; m = firstMessage(pending)) {
      const message = Buffer.from(m.message);
      pending = pending.subarray(m.used);
      chain = chain
        .then(async () => {
          const out = await respond(message, names.table(), upstream, false);
          if (out && !socket.destroyed) socket.write(withLength(out));
        })
        .catch(() => {
          socket.destroy();
        });
    }
  });
}

/** Retries `attempt` while the address is not there yet or the port still held, for BIND_RETRY_MS. */
async function withBindRetry<T>(what: string, address: string, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BIND_RETRY_MS;
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    try {
      return await attempt();
    } catch (err) {
      const code = errnoCode(err);
      const retry = (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL') && Date.now() < deadline;
      if (!retry) {
        const why =
          code === 'EADDRINUSE'
            ? 'another process holds it (a DNS server listening on every address?): free port 53 on this address'
            : code === 'EADDRNOTAVAIL'
              ? "no such address on this host: is the network's bridge there? (box network inspect)"
              : String(err);
        throw new Error(`cannot listen on ${address} port ${DNS_PORT} (${what}): ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function bindUdp(address: string): Promise<dgram.Socket> {
  return withBindRetry(
    'udp',
    address,
    () =>
      new Promise((resolve, reject) => {
        const socket = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
        socket.once('error', (err) => {
          socket.close();
          reject(err);
        });
        socket.bind({ address, port: DNS_PORT, exclusive: true }, () => {
          socket.removeAllListeners('error');
          socket.on('error', () => {}); // a send to a client that went away: nothing to do
          resolve(socket);
        });
      }),
  );
}

function listenTcp(address: string): Promise<net.Server> {
  return withBindRetry(
    'tcp',
    address,
    () =>
      new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen({ host: address, port: DNS_PORT, exclusive: true }, () => {
          server.removeAllListeners('error');
          resolve(server);
        });
      }),
  );
}

/**
 * Ends the responder if its network still has no names, under the network's DNS lock: a
 * container publishing its names meanwhile either comes first (and the responder stays) or
 * finds the responder gone and starts another. Busy lock: tried again on the next tick.
 */
function endIfStillEmpty(o: ResponderOptions): void {
  const lock = tryLockDns(o.roots, o.networkId);
  if (!lock) return;
  if (readNames(o.roots, o.networkId).length > 0) {
    lock.release();
    return;
  }
  if (readResponderPid(o.roots, o.networkId)?.token === ownerToken()) {
    fs.rmSync(featurePaths.dnsPid(o.roots, o.networkId), { force: true });
  }
  fs.rmSync(featurePaths.dnsLog(o.roots, o.networkId), { force: true });
  try {
    fs.rmdirSync(layout.runNetwork(o.roots, o.networkId));
  } catch {
    /* not empty (the network's other runtime files): it stays */
  }
  // Exiting releases the lock and the port together, after the pid file is gone.
  process.exit(0);
}
