// The names box gives to host-global kernel objects (bridges, host veth ends, nftables tables) and
// to the host-wide subnet lock. Tests run many storage roots on one host at once, so every name
// that the kernel shares between roots carries a tag of the storage root; this file is the only
// place such names are made (net-contract.md, "Host-global names carry the storage root").
import type { Roots } from '../paths';

/** The storage root whose kernel objects carry no tag: the user's, so names match the docs (`box0`). */
export const DEFAULT_STORAGE_ROOT = '/var/lib/box';

/** Linux's limit on an interface name (IFNAMSIZ 16, less the terminating NUL). */
export const IFNAME_MAX = 15;

/** Serialises subnet choice between every box process on the host, whatever its root. */
export const SUBNET_LOCK_PATH = '/run/lock/box-subnets.lock';

/** Which storage root owns each tag on this host (tag-claims.ts): one file per tag, holding its root's path. */
export const ROOT_TAG_CLAIMS_DIR = '/run/box-root-tags';

/** '' for the default storage root, else 4 hex digits of sha256(root path); unique per host (tag-claims.ts). */
export function rootTag(roots: Pick<Roots, 'root'>): string {
  if (roots.root === DEFAULT_STORAGE_ROOT) return '';
  // required here: importing node:crypto would load it on every container start (~1.5 ms of CPU)
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(roots.root).digest('hex').slice(0, 4);
}

/** The Linux bridge of the default network `bridge`: `box0`, or `bx<tag>0` under another root. */
export function defaultBridgeName(roots: Pick<Roots, 'root'>): string {
  const tag = rootTag(roots);
  return tag === '' ? 'box0' : `bx${tag}0`;
}

/** A user network's Linux bridge: `box-<11 hex of id>`, or `bx<tag>-<8 hex of id>` under another root. */
export function userBridgeName(roots: Pick<Roots, 'root'>, networkId: string): string {
  const tag = rootTag(roots);
  return tag === '' ? `box-${networkId.slice(0, 11)}` : `bx${tag}-${networkId.slice(0, 8)}`;
}

/** box's nftables table (family inet): `box`, or `box-<tag>` under another root. */
export function nftTableName(roots: Pick<Roots, 'root'>): string {
  const tag = rootTag(roots);
  return tag === '' ? 'box' : `box-${tag}`;
}

/**
 * The host end of a container's veth: `vb<10 hex of container id><index>`. Container ids are random,
 * so no root tag is needed, and a reconcile can map a leftover back to its container.
 */
export function hostVethName(containerId: string, index: number): string {
  return `vb${containerId.slice(0, 10)}${index}`;
}

/** The container id prefix a host veth end names, or undefined when the name is not box's. */
export function vethContainerPrefix(ifname: string): string | undefined {
  const m = /^vb([0-9a-f]{10})\d{1,3}$/.exec(ifname);
  return m?.[1];
}

/** The interface inside the container for its index-th network: eth0, eth1, ... */
export function containerIfname(index: number): string {
  return `eth${index}`;
}

/** A user-given Linux interface name is usable: 1..15 chars, no '/', whitespace, ':' or '%' (the kernel's rules). */
export function validIfname(name: string): boolean {
  return name.length > 0 && name.length <= IFNAME_MAX && name !== '.' && name !== '..' && !/[/\s:%]/.test(name);
}
