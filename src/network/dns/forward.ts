// Forwarding a query the network cannot answer to the host's resolvers, over the transport the
// client used (UDP, or TCP after a truncated answer). Each query gets its own socket, so its
// source port is random and only an answer from the server asked, with the query's id, counts.
// Servers are tried in order, each within its own time, as the resolver library does.
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const DNS_PORT = 53;
/** Per server: the client's resolver (5 s, 2 attempts by default) must still get an answer in time. */
export const FORWARD_TIMEOUT_MS = 1500;
const MAX_TCP_MESSAGE = 65535;

/** The first answer of `servers` to a UDP query; undefined when none answered in time. */
export async function forwardUdp(
  query: Buffer,
  servers: string[],
  timeoutMs = FORWARD_TIMEOUT_MS,
): Promise<Buffer | undefined> {
  for (const server of servers) {
    const answer = await askUdp(query, server, timeoutMs);
    if (answer) return answer;
  }
  return undefined;
}

function askUdp(query: Buffer, server: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server) ? 'udp6' : 'udp4');
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (msg, from) => {
      if (
        from.address === server &&
        from.port === DNS_PORT &&
        msg.length >= 12 &&
        msg.readUInt16BE(0) === query.readUInt16BE(0)
      )
        done(msg);
    });
    socket.send(query, DNS_PORT, server);
  });
}

/** The first answer of `servers` to a TCP query (the message without its length prefix). */
export async function forwardTcp(
  query: Buffer,
  servers: string[],
  timeoutMs = FORWARD_TIMEOUT_MS,
): Promise<Buffer | undefined> {
  for (const server of servers) {
    const answer = await askTcp(query, server, timeoutMs);
    if (answer) return answer;
  }
  return undefined;
}

function askTcp(query: Buffer, server: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server, port: DNS_PORT });
    let received = Buffer.alloc(0);
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write(withLength(query)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const message = firstMessage(received);
      if (message) done(message.message);
      else if (received.length > MAX_TCP_MESSAGE + 2) done(undefined);
    });
    socket.on('end', () => done(undefined));
  });
}

/** A DNS message framed for TCP: its length as two bytes, then the message. */
export function withLength(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

/** The first whole message in a TCP stream's bytes and how many bytes it took; undefined if not all there yet. */
export function firstMessage(bytes: Buffer): { message: Buffer; used: number } | undefined {
  if (bytes.length < 2) return undefined;
  const length = bytes.readUInt16BE(0);
  if (bytes.length < 2 + length) return undefined;
  return { message: bytes.subarray(2, 2 + length), used: 2 + length };
}
