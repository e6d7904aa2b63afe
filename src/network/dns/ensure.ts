// Starting, checking and stopping a network's DNS responder (responder.ts) from any box command.
// ensureResponder runs under the network's DNS lock, so concurrent container starts start one
// responder between them; it returns only once the responder answers on the gateway's port 53,
// so a name published before it resolves as soon as `box run -d` has returned. A responder that
// was killed (its pid file names a dead process) is replaced; one alive but silent is killed and
// replaced too.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { assetPath } from '../../assets';
import { BoxError } from '../../errors';
import { featurePaths, layout, Roots } from '../../paths';
import { boxArgv } from '../../runtime/backoff';
import { mkdirp, readFileIfExists } from '../../util/fs';
import { ownerAlive } from '../../util/owner';
import { liveResponder } from './pid-file';
import { checkRootStillThere } from '../../util/root-identity';
import { lockDns } from '../locks';

/** What the responder needs to know of a network (a network record has these fields). */
export interface DnsNetwork {
  id: string;
  name: string;
  /** the gateway address, bare or as a CIDR (10.89.0.1/24: only clients in that subnet are answered) */
  gateway: string;
  /** an --internal network: its responder forwards nothing to the host's resolvers */
  internal?: boolean;
}

export interface EnsureOptions {
  /** the command line of box itself, absolute path first (default: this executable, with the roots) */
  command?: string[];
  /** how long a new responder has to answer */
  timeoutMs?: number;
}

const START_TIMEOUT_MS = 10_000;
/** A live responder that does not answer within this is taken for stuck. */
const LIVE_PROBE_MS = 2000;

function bareAddress(gateway: string): string {
  return gateway.replace(/\/\d+$/, '');
}

/** Makes sure the network's responder runs and answers; starts one if needed. */
export async function ensureResponder(roots: Roots, network: DnsNetwork, opts: EnsureOptions = {}): Promise<void> {
  checkRootStillThere(roots, `network ${network.name}'s DNS responder`);
  const address = bareAddress(network.gateway);
  const lock = await lockDns(roots, network.id);
  try {
    const live = liveResponder(roots, network.id);
    if (live) {
      if (live.address === address && (await probeResponder(address, network.id, LIVE_PROBE_MS))) return;
      await killAndWait(live.pid, live.token);
    }
    fs.rmSync(featurePaths.dnsPid(roots, network.id), { force: true });
    await startResponder(roots, network, address, opts);
  } finally {
    lock.release();
  }
}

async function startResponder(roots: Roots, network: DnsNetwork, address: string, opts: EnsureOptions): Promise<void> {
  mkdirp(layout.runNetwork(roots, network.id));
  const logFile = featurePaths.dnsLog(roots, network.id);
  const log = fs.openSync(logFile, 'w', 0o600);
  // Through the helper's `delay 0`, which closes every inherited fd above 2 and execs box: the
  // responder outlives this command, and must not keep open a pipe this command's caller waits on.
  const helper = assetPath('box-helper', layout.cache(roots));
  const [cmd, ...args] = [helper, 'delay', '0', ...(opts.command ?? boxArgv(roots))];
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['BOX_HOST_RESOLV_CONF', 'BOX_ASSET_DIR']) if (process.env[k]) env[k] = process.env[k];
  let exited = false;
  const dnsArgs = ['internal', 'dns', network.id, '--address', network.gateway, '--domain', network.name];
  if (network.internal) dnsArgs.push('--no-forward');
  // loaded here, not at the top: a start without a DNS responder to start pays for neither
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(cmd, [...args, ...dnsArgs], {
    detached: true, // its own session: no terminal's signals reach it, and it outlives this command
    stdio: ['ignore', log, log],
    env,
    cwd: '/',
  });
  fs.closeSync(log);
  child.on('exit', () => (exited = true));
  child.on('error', () => (exited = true));
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? START_TIMEOUT_MS);
    while (!exited && Date.now() < deadline) {
      if (await probeResponder(address, network.id, 100)) return;
    }
    if (!exited) child.kill('SIGKILL');
    const why = (readFileIfExists(logFile) ?? '')
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^box: /, '');
    fs.rmSync(logFile, { force: true });
    fs.rmSync(featurePaths.dnsPid(roots, network.id), { force: true });
    throw new BoxError(
      `the DNS responder of network ${network.name} did not start: ${why || 'it did not answer within 10 s'}`,
    );
  } finally {
    child.unref();
  }
}

/** Whether this network's responder answers on address:53 within timeoutMs (a CH TXT `id.server` query). */
export function probeResponder(address: string, networkId: string, timeoutMs: number): Promise<boolean> {
  const id = Math.floor(Math.random() * 0x10000);
  const query = dnsPacket.encode({ type: 'query', id, questions: [{ name: 'id.server', type: 'TXT', class: 'CH' }] });
  return new Promise((resolve) => {
    const dgram = require('node:dgram') as typeof import('node:dgram');
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      clearInterval(resend);
      socket.close();
      resolve(ok);
    };
    // From 127.0.0.1: a packet from the gateway's own address would meet the subnet's
    // masquerade rule on its way through lo and arrive from another host address.
    const send = () => socket.send(query, 53, address);
    const timer = setTimeout(() => done(false), timeoutMs);
    const resend = setInterval(send, 50);
    socket.on('error', () => {}); // ECONNREFUSED while nothing listens yet: the resend tries again
    if (!net.isIPv6(address)) socket.bind({ address: '127.0.0.1', port: 0 });
    socket.on('message', (msg) => {
      try {
        const answer = dnsPacket.decode(msg);
        const txt = answer.answers?.find((a) => a.type === 'TXT')?.data;
        const text = Array.isArray(txt) ? txt.map(String).join('') : String(txt ?? '');
        if (answer.id === id && text === `box ${networkId}`) done(true);
      } catch {
        /* not an answer to this probe */
      }
    });
    send();
  });
}

/** SIGKILL to a responder and a bounded wait for it to be gone (its port is then free). */
async function killAndWait(pid: number, token: string): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let waited = 0; ownerAlive(token) && waited < 5000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Stops a network's responder (`network rm`, prune) and removes its pid file. */
export async function stopResponder(roots: Roots, networkId: string): Promise<void> {
  const lock = await lockDns(roots, networkId);
  try {
    const live = liveResponder(roots, networkId);
    if (live) await killAndWait(live.pid, live.token);
    fs.rmSync(featurePaths.dnsPid(roots, networkId), { force: true });
    fs.rmSync(featurePaths.dnsLog(roots, networkId), { force: true });
  } finally {
    lock.release();
  }
}
