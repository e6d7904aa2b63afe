// A synchronous netlink client over koffi: the one way box talks to the kernel's network
// configuration (rtnetlink for links/addresses/routes, nfnetlink for nftables), never through
// `ip` or `nft`.
//
// Each request carries its own sequence number and asks for an ACK; replies with another
// sequence number (left over from an earlier request that failed midway) are skipped. The kernel
// handles a request inside sendmsg(2), so its replies are queued before send() returns; a dump is
// continued by each recv. Errors are SyscallErrors naming the operation, with the kernel's own
// explanation (extended ACK) when it gives one. Messages are in host byte order (little-endian
// here, x86-64 and arm64), network-order fields are written explicitly by the callers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { koffi, libc } from './ffi';
import { withNetnsOf } from './netns';
import { SyscallError } from './syscalls';

export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
const NLM_F_CAPPED = 0x100; // on NLMSG_ERROR: the request's payload is not echoed
const NLM_F_ACK_TLVS = 0x200; // on NLMSG_ERROR: extended-ACK attributes follow

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;
const NLMSGERR_ATTR_MSG = 1;

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NETLINK_GET_STRICT_CHK = 12;
const MSG_PEEK = 0x2;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;

const HEADER = 16; // struct nlmsghdr
const RECEIVE_TIMEOUT_SECONDS = 10; // a reply that never comes is an error, not a hang
const DUMP_ATTEMPTS = 3; // a dump interrupted by a concurrent change is read again

/** align(n) rounds up to the 4-byte boundary both messages and attributes keep. */
export function align(n: number): number {
  return (n + 3) & ~3;
}

// --- Attributes (struct nlattr: u16 length, u16 type, payload, padding to 4)

/** One attribute around a raw payload (no NLA_F_NESTED flag: also for struct-led payloads like veth's peer). */
export function attr(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(align(4 + payload.length));
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/** A nested attribute: its payload is other attributes (NLA_F_NESTED set, as strict parsers require). */
export function nested(type: number, children: Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children));
}

export function attrString(type: number, value: string): Buffer {
  return attr(type, Buffer.from(`${value}\0`, 'utf8'));
}

export function attrU8(type: number, value: number): Buffer {
  return attr(type, Buffer.from([value & 0xff]));
}

export function attrU16(type: number, value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value, 0);
  return attr(type, b);
}

export function attrU32(type: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return attr(type, b);
}

/** A 32-bit value in network byte order (nftables' and ports' convention). */
export function attrU32BE(type: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return attr(type, b);
}

export function attrU64BE(type: number, value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value, 0);
  return attr(type, b);
}

/** The attributes of one payload, by type (flags masked off); a repeated type keeps every value in order. */
export class Attrs {
  private constructor(private readonly byType: Map<number, Buffer[]>) {}

  static parse(buf: Buffer, offset = 0): Attrs {
    const byType = new Map<number, Buffer[]>();
    let at = offset;
    while (at + 4 <= buf.length) {
      const length = buf.readUInt16LE(at);
      if (length < 4 || at + length > buf.length) break; // a truncated tail: nothing more to read
      const type = buf.readUInt16LE(at + 2) & NLA_TYPE_MASK;
      let list = byType.get(type);
      if (!list) byType.set(type, (list = []));
      list.push(buf.subarray(at + 4, at + length));
      at += align(length);
    }
    return new Attrs(byType);
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }

  get(type: number): Buffer | undefined {
    return this.byType.get(type)?.[0];
  }

  all(type: number): Buffer[] {
    return this.byType.get(type) ?? [];
  }

  types(): number[] {
    return [...this.byType.keys()];
  }

  u8(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 1 ? b.readUInt8(0) : undefined;
  }

  u16(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
  }

  u32(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
  }

  u32be(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 4 ? b.readUInt32BE(0) : undefined;
  }

  u64be(type: number): bigint | undefined {
    const b = this.get(type);
    return b && b.length >= 8 ? b.readBigUInt64BE(0) : undefined;
  }

  /** A NUL-terminated string attribute, without its NUL. */
  str(type: number): string | undefined {
    const b = this.get(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  }

  nested(type: number): Attrs | undefined {
    const b = this.get(type);
    return b ? Attrs.parse(b) : undefined;
  }
}

// --- Messages

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  /** Everything after the 16-byte header (a family header such as ifinfomsg, then attributes). */
  payload: Buffer;
}

export interface OutgoingMessage {
  type: number;
  /** Besides NLM_F_REQUEST, which is always set. */
  flags?: number;
  payload: Buffer;
  /** Names the message in an error about it (e.g. "add rule"); the operation's name otherwise. */
  what?: string;
}

function encodeMessage(m: OutgoingMessage, seq: number): Buffer {
  const out = Buffer.alloc(align(HEADER + m.payload.length));
  out.writeUInt32LE(HEADER + m.payload.length, 0);
  out.writeUInt16LE(m.type, 4);
  out.writeUInt16LE(NLM_F_REQUEST | (m.flags ?? 0), 6);
  out.writeUInt32LE(seq >>> 0, 8);
  out.writeUInt32LE(0, 12); // the kernel fills in the sender's port id
  m.payload.copy(out, HEADER);
  return out;
}

function decodeMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at + HEADER <= buf.length) {
    const length = buf.readUInt32LE(at);
    if (length < HEADER || at + length > buf.length) throw new Error(`netlink: malformed message of ${length} bytes`);
    out.push({
      type: buf.readUInt16LE(at + 4),
      flags: buf.readUInt16LE(at + 6),
      seq: buf.readUInt32LE(at + 8),
      payload: buf.subarray(at + HEADER, at + length),
    });
    at += align(length);
  }
  return out;
}

/** A failed netlink operation: `operation: ECODE (n)`, plus the kernel's extended-ACK message if any. */
export class NetlinkError extends SyscallError {
  constructor(
    operation: string,
    errno: number,
    readonly kernelMessage?: string,
  ) {
    super(operation, errno);
    if (kernelMessage) this.message += `: ${kernelMessage}`;
  }
}

/** errno (positive, 0 for an ACK) and the kernel's message from an NLMSG_ERROR payload. */
function decodeError(m: NetlinkMessage): { errno: number; kernelMessage?: string } {
  const errno = -m.payload.readInt32LE(0);
  if (!(m.flags & NLM_F_ACK_TLVS) || m.payload.length < 4 + HEADER) return { errno };
  const echoedLength = m.flags & NLM_F_CAPPED ? HEADER : m.payload.readUInt32LE(4);
  const kernelMessage = Attrs.parse(m.payload, 4 + align(echoedLength)).str(NLMSGERR_ATTR_MSG);
  return { errno, kernelMessage: kernelMessage || undefined };
}

// --- Socket

type SocketFns = {
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint;
  recv: (fd: number, buf: Buffer | null, len: number, flags: number) => number | bigint;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
};

let socketFns: SocketFns | undefined;

function bindings(): SocketFns {
  if (socketFns) return socketFns;
  const lib = libc();
  socketFns = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as SocketFns['socket'],
    bind: lib.func('int bind(int fd, const void *addr, uint32_t len)') as SocketFns['bind'],
    send: lib.func('intptr_t send(int fd, const void *buf, size_t len, int flags)') as SocketFns['send'],
    recv: lib.func('intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)') as SocketFns['recv'],
    setsockopt: lib.func(
      'int setsockopt(int fd, int level, int name, const void *value, uint32_t len)',
    ) as SocketFns['setsockopt'],
  };
  return socketFns;
}

function setIntOption(fd: number, level: number, name: number, value: number): boolean {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return bindings().setsockopt(fd, level, name, b, 4) === 0;
}

export class NetlinkSocket {
  private seq: number;
  private buffer = Buffer.alloc(64 * 1024);
  private closed = false;

  constructor(
    readonly fd: number,
    readonly protocol: number,
  ) {
    // Start somewhere unpredictable so a reply meant for another socket's request never matches.
    this.seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** Larger kernel-side queues for big batches (many ACKs) or big dumps; root may exceed the sysctl caps. */
  setBufferSizes(bytes: number): void {
    if (!setIntOption(this.fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes)) setIntOption(this.fd, SOL_SOCKET, SO_SNDBUF, bytes);
    if (!setIntOption(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes)) setIntOption(this.fd, SOL_SOCKET, SO_RCVBUF, bytes);
  }

  private sendAll(operation: string, data: Buffer): void {
    const n = Number(bindings().send(this.fd, data, data.length, 0));
    if (n < 0) throw new NetlinkError(`${operation} (send)`, koffi().errno());
    if (n !== data.length) throw new Error(`${operation}: netlink sent ${n} of ${data.length} bytes`);
  }

  /** The messages of the next datagram; undefined when `nonBlocking` and nothing is queued. */
  private receive(operation: string, nonBlocking = false): NetlinkMessage[] | undefined {
    const fns = bindings();
    const flags = nonBlocking ? MSG_DONTWAIT : 0;
    // Peek with MSG_TRUNC: the datagram's full size, so a buffer too small grows instead of truncating.
    let n = Number(fns.recv(this.fd, this.buffer, this.buffer.length, MSG_PEEK | MSG_TRUNC | flags));
    if (n < 0) {
      const errno = koffi().errno();
      if (nonBlocking && errno === os.constants.errno.EAGAIN) return undefined;
      throw new NetlinkError(`${operation} (receive)`, errno);
    }
    if (n > this.buffer.length) this.buffer = Buffer.alloc(align(n));
    n = Number(fns.recv(this.fd, this.buffer, this.buffer.length, 0));
    if (n < 0) throw new NetlinkError(`${operation} (receive)`, koffi().errno());
    // Copy out: the receive buffer is reused by the next call.
    return decodeMessages(Buffer.from(this.buffer.subarray(0, n)));
  }

  /**
   * Sends one request with NLM_F_ACK and returns the replies that came before its ACK (a GET's
   * answer, an ECHO). Throws a NetlinkError naming `operation` when the kernel refuses it.
   */
  request(operation: string, message: OutgoingMessage): NetlinkMessage[] {
    return this.batch(operation, [{ ...message, flags: (message.flags ?? 0) | NLM_F_ACK }]);
  }

  /**
   * Sends several messages in one datagram (nfnetlink batches) and waits for the ACK of every
   * message that asks for one (NLM_F_ACK). The first refusal throws, naming that message's `what`;
   * the rest of its replies, already queued by then, are drained first.
   */
  batch(operation: string, messages: OutgoingMessage[]): NetlinkMessage[] {
    this.ensureOpen(operation);
    const bySeq = new Map<number, OutgoingMessage>();
    const awaited = new Set<number>();
    const chunks = messages.map((m) => {
      const seq = this.nextSeq();
      bySeq.set(seq, m);
      if ((m.flags ?? 0) & NLM_F_ACK) awaited.add(seq);
      return encodeMessage(m, seq);
    });
    this.sendAll(operation, Buffer.concat(chunks));
    const replies: NetlinkMessage[] = [];
    let failure: NetlinkError | undefined;
    while (awaited.size > 0) {
      const got = this.receive(operation, failure !== undefined);
      if (!got) break; // after a refusal: nothing more is queued
      for (const m of got) {
        const sent = bySeq.get(m.seq);
        if (!sent) continue; // stale: a reply to an earlier request on this socket
        if (m.type !== NLMSG_ERROR) {
          replies.push(m);
          continue;
        }
        awaited.delete(m.seq);
        const { errno, kernelMessage } = decodeError(m);
        if (errno !== 0 && !failure) failure = new NetlinkError(sent.what ?? operation, errno, kernelMessage);
      }
    }
    if (failure) throw failure;
    return replies;
  }

  /** A dump (NLM_F_DUMP): every message up to NLMSG_DONE, read again if the kernel says it was interrupted. */
  dump(operation: string, type: number, payload: Buffer): NetlinkMessage[] {
    this.ensureOpen(operation);
    for (let attempt = 1; ; attempt++) {
      const seq = this.nextSeq();
      this.sendAll(operation, encodeMessage({ type, flags: NLM_F_DUMP, payload }, seq));
      const out: NetlinkMessage[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        for (const m of this.receive(operation)!) {
          if (m.seq !== seq) continue; // stale
          if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (m.type === NLMSG_DONE) {
            const errno = m.payload.length >= 4 ? -m.payload.readInt32LE(0) : 0;
            if (errno !== 0) throw new NetlinkError(operation, errno);
            done = true;
          } else if (m.type === NLMSG_ERROR) {
            const { errno, kernelMessage } = decodeError(m);
            throw new NetlinkError(operation, errno, kernelMessage);
          } else if (m.type !== NLMSG_NOOP) {
            out.push(m);
          }
        }
      }
      if (!interrupted || attempt === DUMP_ATTEMPTS) return out;
    }
  }

  private ensureOpen(operation: string): void {
    if (this.closed) throw new Error(`${operation}: the netlink socket is closed`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

function createSocket(protocol: number): number {
  const fns = bindings();
  const fd = fns.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw new SyscallError(`socket(AF_NETLINK, ${protocol})`, koffi().errno());
  return fd;
}

/**
 * A netlink socket for `protocol` (NETLINK_ROUTE, NETLINK_NETFILTER), in the calling process's
 * network namespace or, with `netnsPid`, in that process's (a socket keeps the namespace it was
 * created in, so only its creation happens over there).
 */
export function openNetlink(protocol: number, opts: { netnsPid?: number } = {}): NetlinkSocket {
  const fd =
    opts.netnsPid === undefined ? createSocket(protocol) : withNetnsOf(opts.netnsPid, () => createSocket(protocol));
  const sock = new NetlinkSocket(fd, protocol);
  try {
    const fns = bindings();
    const address = Buffer.alloc(12); // sockaddr_nl: family, pad, port id 0 (kernel assigns), groups 0
    address.writeUInt16LE(AF_NETLINK, 0);
    if (fns.bind(fd, address, address.length) !== 0) throw new SyscallError('bind(AF_NETLINK)', koffi().errno());
    // Kernel explanations in errors, and ACKs without a copy of the request.
    setIntOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    setIntOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    // rtnetlink: dump requests are checked strictly, and their header's fields filter (an
    // address dump of one link reads that link's addresses, not the whole host's).
    if (protocol === NETLINK_ROUTE) setIntOption(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
    const timeout = Buffer.alloc(16); // struct timeval
    timeout.writeBigInt64LE(BigInt(RECEIVE_TIMEOUT_SECONDS), 0);
    if (fns.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.length) !== 0)
      throw new SyscallError('setsockopt(SO_RCVTIMEO)', koffi().errno());
  } catch (err) {
    sock.close();
    throw err;
  }
  return sock;
}
