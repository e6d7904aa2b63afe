// IPv4 addresses and subnets as plain numbers, for IPAM and subnet choice: parsing (through
// ipaddr.js, strict dotted quads only), formatting, containment and overlap. IPv6 is not offered
// (networks have EnableIPv6 false), so nothing here speaks it.
import { ipaddr } from './ipaddr';
import { BoxError } from '../errors';

/** A subnet: `base` is the network address (host bits zero), `prefix` 0..32. */
export interface Subnet {
  base: number;
  prefix: number;
}

export function parseIPv4(text: string, what: string): number {
  if (!ipaddr().IPv4.isValidFourPartDecimal(text)) {
    throw new BoxError(`invalid ${what} "${text}": expected an IPv4 address such as 10.89.0.5`);
  }
  const [a, b, c, d] = ipaddr().IPv4.parse(text).toByteArray();
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `10.89.0.0/24`; host bits set (`10.89.0.7/24`) are refused as Docker does, naming the network address. */
export function parseSubnet(text: string, what: string): Subnet {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : -1;
  if (!m || prefix > 32) throw new BoxError(`invalid ${what} "${text}": expected a subnet such as 10.89.0.0/24`);
  const addr = parseIPv4(m[1], what);
  const base = (addr & maskOf(prefix)) >>> 0;
  if (base !== addr) {
    throw new BoxError(
      `invalid ${what} "${text}": it has host bits set; did you mean ${formatSubnet({ base, prefix })}?`,
    );
  }
  return { base, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefix}`;
}

export function subnetContains(s: Subnet, addr: number): boolean {
  return (addr & maskOf(s.prefix)) >>> 0 === s.base;
}

/** Whether two subnets share any address (one contains the other's network address under its mask). */
export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return (a.base & maskOf(prefix)) >>> 0 === (b.base & maskOf(prefix)) >>> 0;
}

/** The last address of a subnet (its broadcast address for prefixes under 31). */
export function lastAddress(s: Subnet): number {
  return (s.base | (~maskOf(s.prefix) >>> 0)) >>> 0;
}
