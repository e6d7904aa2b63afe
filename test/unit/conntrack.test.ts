// Which UDP flows a ruleset makes stale (the kernel side is in test/integration/nftables.test.ts).
import { describe, expect, it } from 'vitest';
import { Flow, staleUdpFlows } from '../../src/network/conntrack';
import type { BoxRuleset } from '../../src/network/nft-ruleset';

const key = { tuple: Buffer.alloc(0) };

function flow(dst: string, dstPort: number, reply?: { src: string; srcPort: number }, proto = 17): Flow {
  const orig = { src: '192.0.2.9', dst, proto, srcPort: 40000, dstPort };
  return {
    orig,
    reply: reply
      ? { src: reply.src, dst: orig.src, proto, srcPort: reply.srcPort, dstPort: orig.srcPort }
      : { src: dst, dst: orig.src, proto, srcPort: dstPort, dstPort: orig.srcPort },
    dnat: reply !== undefined,
    key,
  };
}

const ports: BoxRuleset['ports'] = [
  { hostPort: 5353, containerIp: '10.88.0.2', containerPort: 53, protocol: 'udp', bridge: 'box0' },
  { hostIp: '127.0.0.1', hostPort: 5454, containerIp: '10.88.0.2', containerPort: 54, protocol: 'udp', bridge: 'box0' },
  { hostPort: 8080, containerIp: '10.88.0.2', containerPort: 80, protocol: 'tcp', bridge: 'box0' },
];
const host = ['192.0.2.2', '10.88.0.1'];

describe('staleUdpFlows', () => {
  it('keeps flows that already go where the ruleset sends them', () => {
    expect(staleUdpFlows([flow('192.0.2.2', 5353, { src: '10.88.0.2', srcPort: 53 })], ports, host)).toEqual([]);
  });

  it('finds flows to a published port that reach the host itself or a container no longer there', () => {
    const toHost = flow('192.0.2.2', 5353);
    const toLoopback = flow('127.0.0.1', 5353);
    const toOld = flow('10.88.0.1', 5353, { src: '10.88.0.7', srcPort: 53 });
    const toOldPort = flow('192.0.2.2', 5353, { src: '10.88.0.2', srcPort: 5353 });
    expect(staleUdpFlows([toHost, toLoopback, toOld, toOldPort], ports, host)).toEqual([
      toHost,
      toLoopback,
      toOld,
      toOldPort,
    ]);
  });

  it("leaves other flows: other ports, TCP, other machines' addresses, another host address than the port's", () => {
    const flows = [
      flow('192.0.2.2', 5300),
      flow('192.0.2.2', 8080, undefined, 6),
      flow('198.51.100.7', 5353),
      flow('192.0.2.2', 5454),
    ];
    expect(staleUdpFlows(flows, ports, host)).toEqual([]);
    expect(staleUdpFlows([flow('127.0.0.1', 5454)], ports, host).length).toBe(1);
  });
});
