// The IPv4 subnets the host already routes, which a new network's subnet must not overlap: read
// from /proc/net/route (the main table, which holds every connected prefix of the host's
// addresses, and any route another runtime or VPN added). The default route is left out: it
// covers everything and says nothing about what is in use.
import * as fs from 'node:fs';
import { endianness } from 'node:os';
import { Subnet } from './subnet';

/** /proc/net/route prints addresses as the kernel stores them (network order) read as a host-order word. */
function wordToAddress(hex: string): number {
  const word = Number.parseInt(hex, 16) >>> 0;
  if (endianness() === 'BE') return word;
  return (((word & 0xff) << 24) | ((word & 0xff00) << 8) | ((word >>> 8) & 0xff00) | (word >>> 24)) >>> 0;
}

function prefixOf(mask: number): number {
  let n = 0;
  while (n < 32 && mask & (0x80000000 >>> n)) n++;
  return n;
}

export function hostRoutedSubnets(table = '/proc/net/route'): Subnet[] {
  let text: string;
  try {
    text = fs.readFileSync(table, 'utf8');
  } catch {
    return [];
  }
  const out: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const prefix = prefixOf(wordToAddress(f[7]));
    if (prefix === 0) continue;
    out.push({ base: wordToAddress(f[1]), prefix });
  }
  return out;
}
