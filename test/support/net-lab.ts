// A small network made by a test, for traffic through box's nftables rules: Linux bridges on the
// host standing for box networks, network namespaces standing for containers (a veth into a
// bridge) and for the outside world (a veth to the host, with no route anywhere else), and tiny
// python3 servers and clients that report the peer address they saw. Traffic goes only between
// these namespaces, the bridges and the host's loopback. Everything is removed by cleanup().
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { waitForOutput } from './box';
import { ip, ipJson, NetnsProcess, nameTag, startNetnsProcess } from './netns';

// A server answers each TCP connection or UDP datagram with the address it came from.
const SERVER = `
import socket, sys
proto, port, bind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((bind, port))
if proto == 'tcp': s.listen(16)
print('ready', flush=True)
while True:
    if proto == 'tcp':
        c, a = s.accept(); c.sendall(a[0].encode()); c.close()
    else:
        d, a = s.recvfrom(100); s.sendto(a[0].encode(), a)
`;

// A client prints "ok <what the server said>" or "error <reason>" (refused, timeout, ...).
const CLIENT = `
import socket, sys
proto, host, port, timeout, source = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
try:
    if proto == 'tcp':
        s = socket.create_connection((host, port), timeout=timeout); print('ok', s.recv(100).decode())
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout); s.bind(('0.0.0.0', source))
        s.sendto(b'x', (host, port)); print('ok', s.recv(100).decode())
except ConnectionRefusedError: print('error refused')
except socket.timeout: print('error timeout')
except OSError as e: print('error', e.strerror)
`;

export interface Namespace {
  proc: NetnsProcess;
  pid: number;
  /** Its own address (no prefix). */
  address: string;
}

export class NetLab {
  readonly tag = nameTag();
  /** 10.A.0.0/16 with no route on the host: this lab's /24s are 10.A.N.0/24. */
  readonly block: number;
  private readonly links: string[] = [];
  private readonly namespaces: Namespace[] = [];
  private readonly servers: ChildProcess[] = [];
  private nextLink = 0;

  constructor() {
    const used = ipJson<{ dst: string }[]>(undefined, ['route', 'show', 'table', 'all']).map((r) => r.dst);
    for (;;) {
      const a = 100 + Math.floor(Math.random() * 150);
      if (!used.some((d) => d.startsWith(`10.${a}.`))) {
        this.block = a;
        break;
      }
    }
  }

  /** 10.A.n.host */
  addr(n: number, host: number): string {
    return `10.${this.block}.${n}.${host}`;
  }

  private linkName(kind: string): string {
    const name = `nl${this.tag}${kind}${this.nextLink++}`;
    this.links.push(name);
    return name;
  }

  /** A bridge with address 10.A.n.1/24, up, forwarding on; its name. */
  bridge(n: number): string {
    const name = this.linkName('b');
    ip(['link', 'add', name, 'type', 'bridge']);
    ip(['addr', 'add', `${this.addr(n, 1)}/24`, 'dev', name]);
    ip(['link', 'set', name, 'up']);
    forwarding(name);
    return name;
  }

  /** A namespace on bridge `bridge` (subnet n) with address 10.A.n.host and a default route via .1. */
  async container(bridge: string, n: number, host: number): Promise<Namespace> {
    const proc = await startNetnsProcess();
    const veth = this.linkName('v');
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(proc.pid)]);
    ip(['link', 'set', veth, 'master', bridge, 'up']);
    // As box's attach does: with br_netfilter, a container reaching its own published port is
    // bridged back out of the port it came in by (the kernel's "bridged DNAT").
    ip(['link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']);
    this.inside(proc.pid, `${this.addr(n, host)}/24`, this.addr(n, 1));
    const ns = { proc, pid: proc.pid, address: this.addr(n, host) };
    this.namespaces.push(ns);
    return ns;
  }

  /**
   * A namespace standing for another machine: a veth to the host, 10.A.n.1/30 on the host's end
   * and 10.A.n.2/30 in the namespace, no other route (it cannot reach a container's subnet).
   */
  async outside(n: number): Promise<Namespace & { hostAddress: string }> {
    const proc = await startNetnsProcess();
    const veth = this.linkName('o');
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(proc.pid)]);
    ip(['addr', 'add', `${this.addr(n, 1)}/30`, 'dev', veth]);
    ip(['link', 'set', veth, 'up']);
    forwarding(veth);
    this.inside(proc.pid, `${this.addr(n, 2)}/30`);
    const ns = { proc, pid: proc.pid, address: this.addr(n, 2), hostAddress: this.addr(n, 1) };
    this.namespaces.push(ns);
    return ns;
  }

  private inside(pid: number, cidr: string, gateway?: string): void {
    ip(['link', 'set', 'lo', 'up'], pid);
    ip(['addr', 'add', cidr, 'dev', 'eth0'], pid);
    ip(['link', 'set', 'eth0', 'up'], pid);
    if (gateway) ip(['route', 'add', 'default', 'via', gateway], pid);
  }

  /** A server on `port` in namespace `pid` (undefined: the host), ready when this resolves. */
  async server(pid: number | undefined, proto: 'tcp' | 'udp', port: number, bind = '0.0.0.0'): Promise<void> {
    const argv = ['python3', '-u', '-c', SERVER, proto, String(port), bind];
    const child =
      pid === undefined
        ? spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
        : spawn('nsenter', ['-t', String(pid), '-n', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.servers.push(child);
    await waitForOutput(child.stdout!, 'ready');
  }

  /**
   * What a client in namespace `pid` (undefined: the host) gets: "ok PEER" or "error REASON".
   * A UDP client sends from `sourcePort` when given (one flow for conntrack across calls).
   */
  connect(
    pid: number | undefined,
    proto: 'tcp' | 'udp',
    host: string,
    port: number,
    timeoutSeconds = 3,
    sourcePort = 0,
  ): string {
    const argv = ['python3', '-c', CLIENT, proto, host, String(port), String(timeoutSeconds), String(sourcePort)];
    const out =
      pid === undefined
        ? execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' })
        : execFileSync('nsenter', ['-t', String(pid), '-n', ...argv], { encoding: 'utf8' });
    return out.trim();
  }

  /**
   * Makes namespace `pid` send packets for 127.0.0.1 to `gateway` instead of its own loopback, as a
   * hostile machine or container can: the forged packets box's rules must not let through.
   */
  sendLoopbackVia(pid: number, gateway: string): void {
    ip(['route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local'], pid);
    ip(['route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local'], pid);
    execFileSync('nsenter', ['-t', String(pid), '-n', 'sysctl', '-q', '-w', 'net.ipv4.conf.eth0.route_localnet=1']);
    ip(['route', 'add', '127.0.0.1/32', 'via', gateway, 'dev', 'eth0'], pid);
  }

  async cleanup(): Promise<void> {
    for (const s of this.servers) if (s.exitCode === null && s.pid !== undefined) s.kill('SIGKILL');
    for (const ns of this.namespaces) await ns.proc.stop();
    for (const l of this.links) {
      try {
        ip(['link', 'del', l]);
      } catch {
        // a veth went with its namespace
      }
    }
  }

  /** Names of this lab's links still on the host (empty after cleanup). */
  leftoverLinks(): string[] {
    return ipJson<{ ifname: string }[]>(undefined, ['link', 'show'])
      .map((l) => l.ifname)
      .filter((name) => name.startsWith(`nl${this.tag}`));
  }
}

/** Forwarding on one interface only (the host's ip_forward stays as it is). */
function forwarding(ifname: string): void {
  fs.writeFileSync(`/proc/sys/net/ipv4/conf/${ifname}/forwarding`, '1');
}
