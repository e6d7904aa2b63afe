// box's nftables rules, derived from the desired state (networks and published ports) alone: the
// same state always gives the same chains and rules, so applying it again changes nothing and a
// rebuild also sweeps whatever an interrupted command left. Pure; nftables.ts sends the result.
//
// Each rule carries its `nft` text (as `nft list` prints it) beside its expressions; tests compare
// the kernel's listing with these texts.
import {
  accept,
  counter,
  CT_STATE_ESTABLISHED,
  CT_STATE_RELATED,
  CT_STATUS_DNAT,
  ctStateAny,
  ctStatusAny,
  daddrIsLocal,
  dnat,
  dport,
  drop,
  iifname,
  ipAddr,
  isIPv4,
  jump,
  l4proto,
  masquerade,
  oifname,
  returnVerdict,
} from './nft-expr';
import { validIfname } from './kernel-names';
import { ChainSpec, Expr } from './nft-wire';

/** What box's table must express (net-contract.md). Networks and ports are IPv4. */
export interface BoxRuleset {
  networks: { bridge: string; subnet: string; internal: boolean }[];
  ports: {
    hostIp?: string;
    hostPort: number;
    containerIp: string;
    containerPort: number;
    protocol: 'tcp' | 'udp';
    bridge: string;
  }[];
}

export interface RuleSpec {
  chain: string;
  text: string;
  exprs: Expr[];
  /** Kept with the rule in the kernel (publish rules: see publishComment) */
  comment?: string;
}

/** The comment of a publish rule, which names the host port it holds: `box publish tcp 0.0.0.0 8080`. */
export function publishComment(protocol: string, hostIp: string, hostPort: number): string {
  return `box publish ${protocol} ${hostIp} ${hostPort}`;
}

export interface TableSpec {
  chains: ChainSpec[];
  rules: RuleSpec[];
}

const LOOPBACK = '127.0.0.0/8';

/** The chains, in the order they are created (regular chains first: base chains jump to them). */
export const CHAINS: ChainSpec[] = [
  // published ports: one DNAT rule each, reached from prerouting and output for local addresses
  { name: 'publish' },
  // drops traffic that leaves one box bridge for another
  { name: 'isolate' },
  // before conntrack and NAT: nothing from a bridge may claim a loopback destination
  { name: 'guard', base: { type: 'filter', hook: 'prerouting', priority: -300 } },
  { name: 'prerouting', base: { type: 'nat', hook: 'prerouting', priority: -100 } },
  { name: 'output', base: { type: 'nat', hook: 'output', priority: -100 } },
  { name: 'postrouting', base: { type: 'nat', hook: 'postrouting', priority: 100 } },
  { name: 'forward', base: { type: 'filter', hook: 'forward', priority: 0 } },
];

const q = (name: string): string => JSON.stringify(name);

/** True when the ruleset needs no table at all. */
export function isEmptyRuleset(r: BoxRuleset): boolean {
  return r.networks.length === 0 && r.ports.length === 0;
}

export function buildTable(r: BoxRuleset): TableSpec {
  const rules: RuleSpec[] = [];
  const add = (chain: string, text: string, ...parts: Expr[][]): void => {
    rules.push({ chain, text, exprs: parts.flat() });
  };
  for (const n of r.networks)
    if (!validIfname(n.bridge)) throw new Error(`not a bridge name: ${JSON.stringify(n.bridge)}`);
  const byBridge = new Map(r.networks.map((n) => [n.bridge, n]));
  const open = r.networks.filter((n) => !n.internal);
  const internal = r.networks.filter((n) => n.internal);

  // guard: a bridge has route_localnet on (so the host can reach a container from 127.0.0.1);
  // a crafted packet from a container to 127/8 would then reach the host's loopback services.
  for (const n of r.networks) {
    add(
      'guard',
      `iifname ${q(n.bridge)} ip daddr ${LOOPBACK} counter drop`,
      iifname(n.bridge),
      isIPv4(),
      ipAddr('daddr', LOOPBACK),
      counter(),
      drop(),
    );
  }

  // prerouting: traffic from elsewhere to one of the host's addresses; never to 127/8, which only
  // a forged packet from another machine can carry here (moby#45610)
  add(
    'prerouting',
    `ip daddr ${LOOPBACK} counter return`,
    isIPv4(),
    ipAddr('daddr', LOOPBACK),
    counter(),
    returnVerdict(),
  );
  add('prerouting', 'fib daddr type local jump publish', daddrIsLocal(), jump('publish'));
  add('output', 'fib daddr type local jump publish', daddrIsLocal(), jump('publish'));

  for (const p of r.ports) {
    const net = byBridge.get(p.bridge);
    if (!net)
      throw new Error(`published port ${p.hostPort}/${p.protocol} names bridge ${p.bridge}, not in the ruleset`);
    if (net.internal) continue; // as Docker: an internal network publishes nothing
    const anyHost = p.hostIp === undefined || p.hostIp === '0.0.0.0';
    const hostMatch = anyHost ? [] : ipAddr('daddr', p.hostIp!);
    const comment = publishComment(p.protocol, p.hostIp ?? '0.0.0.0', p.hostPort);
    add(
      'publish',
      `${anyHost ? 'meta nfproto ipv4' : `ip daddr ${p.hostIp}`} ${p.protocol} dport ${p.hostPort} counter ` +
        `dnat ip to ${p.containerIp}:${p.containerPort} comment ${q(comment)}`,
      isIPv4(),
      hostMatch,
      l4proto(p.protocol),
      dport(p.hostPort),
      counter(),
      dnat(p.containerIp, p.containerPort),
    );
    rules[rules.length - 1].comment = comment;
  }

  for (const n of open) {
    // the host's own 127.0.0.1 reaching a published port: the container cannot answer 127/8
    add(
      'postrouting',
      `oifname ${q(n.bridge)} ip saddr ${LOOPBACK} masquerade`,
      oifname(n.bridge),
      isIPv4(),
      ipAddr('saddr', LOOPBACK),
      masquerade(),
    );
    // hairpin: a container reaching a published port of its own network (its own included)
    add(
      'postrouting',
      `oifname ${q(n.bridge)} ip saddr ${n.subnet} ct status dnat masquerade`,
      oifname(n.bridge),
      isIPv4(),
      ipAddr('saddr', n.subnet),
      ctStatusAny(CT_STATUS_DNAT),
      masquerade(),
    );
    // outbound: leaving by any other interface
    add(
      'postrouting',
      `ip saddr ${n.subnet} oifname != ${q(n.bridge)} masquerade`,
      isIPv4(),
      ipAddr('saddr', n.subnet),
      oifname(n.bridge, false),
      masquerade(),
    );
  }

  // forward: internal networks talk only within their bridge; established traffic and published
  // ports pass; other traffic between two box bridges is dropped; a network's own traffic passes;
  // nothing else comes in.
  for (const n of internal) {
    add(
      'forward',
      `iifname ${q(n.bridge)} oifname != ${q(n.bridge)} counter drop`,
      iifname(n.bridge),
      oifname(n.bridge, false),
      counter(),
      drop(),
    );
    add(
      'forward',
      `oifname ${q(n.bridge)} iifname != ${q(n.bridge)} counter drop`,
      oifname(n.bridge),
      iifname(n.bridge, false),
      counter(),
      drop(),
    );
  }
  if (r.networks.length > 0) {
    add(
      'forward',
      'ct state established,related accept',
      ctStateAny(CT_STATE_ESTABLISHED | CT_STATE_RELATED),
      accept(),
    );
    add('forward', 'ct status dnat accept', ctStatusAny(CT_STATUS_DNAT), accept());
  }
  for (const n of r.networks) {
    add(
      'forward',
      `iifname ${q(n.bridge)} oifname != ${q(n.bridge)} jump isolate`,
      iifname(n.bridge),
      oifname(n.bridge, false),
      jump('isolate'),
    );
    add('isolate', `oifname ${q(n.bridge)} counter drop`, oifname(n.bridge), counter(), drop());
  }
  // (an internal network's traffic that gets here stays within its bridge)
  for (const n of r.networks) add('forward', `iifname ${q(n.bridge)} accept`, iifname(n.bridge), accept());
  // Nothing else enters a network: another machine routing to a container's address directly reaches
  // only what the container publishes, through the host's ports (Docker 28's default).
  for (const n of r.networks)
    add('forward', `oifname ${q(n.bridge)} counter drop`, oifname(n.bridge), counter(), drop());

  return { chains: CHAINS, rules };
}
