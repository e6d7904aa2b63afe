// The IPv4 subnets the host already uses, which a new network's subnet must not overlap: every
// IPv4 route of every routing table and the prefix of every IPv4 address, asked from the kernel
// over rtnetlink (links.ts), so a VPN's policy-routing table or an address added with noprefixroute
// counts too. Default routes are left out: they cover everything and say nothing about what is used.
import { hostRoute, listAddresses, listRoutes } from './links';
import { parseIPv4, maskOf, Subnet } from './subnet';

function subnetOf(address: string, prefix: number): Subnet | undefined {
  if (prefix === 0) return undefined;
  return { base: (parseIPv4(address, 'host address') & maskOf(prefix)) >>> 0, prefix };
}

export function hostUsedSubnets(): Subnet[] {
  const nl = hostRoute();
  const out: Subnet[] = [];
  for (const r of listRoutes(nl)) {
    if (r.family !== 4) continue;
    const [address, prefix] = r.destination.split('/');
    const s = subnetOf(address, Number(prefix));
    if (s) out.push(s);
  }
  for (const a of listAddresses(nl)) {
    const s = a.family === 4 ? subnetOf(a.address, a.prefixLength) : undefined;
    if (s) out.push(s);
  }
  return out;
}
