// Plugging a container into a bridge, from the host, while its init waits between clone and
// exec (the helper's onInitReady hook): one veth pair whose container end is created directly in
// the container's netns under its final name (eth0...), then, through a netlink socket opened in
// that netns, its address and default route. The kernel destroys the pair with the namespace, so
// a container that dies leaves no veth; an attach that fails midway removes the pair it made.
import { errnoCode } from '../errors';
import { NETLINK_ROUTE, NetlinkSocket, openNetlink } from '../linux/netlink';
import {
  addAddress,
  addRoute,
  createVeth,
  deleteLink,
  ensureBridge,
  getLink,
  hostRoute,
  randomMac,
  setHairpin,
  setLink,
} from './links';

export interface Attachment {
  /** The Linux bridge (made here if missing: network create normally made it). */
  bridge: string;
  /** The gateway's address with the subnet's prefix, held by the bridge, e.g. 10.89.0.1/24. */
  bridgeAddress: string;
  /** The host end's name (vb<container id hex><index>, see kernel-names.ts). */
  hostIfname: string;
  /** The container end's name: eth0, eth1... */
  ifname: string;
  address: string;
  prefixLength: number;
  gateway: string;
  mtu: number;
  /** The container end's MAC; a random locally administered one otherwise. */
  mac?: string;
  /** A default route through `gateway` (the container's first network). */
  defaultRoute: boolean;
  /** Hairpin mode on the bridge port, so a container reaches its own published ports (default on). */
  hairpin?: boolean;
}

export interface AttachResult {
  /** The MAC the container end got (for inspect's NetworkSettings). */
  mac: string;
  hostIndex: number;
}

/** Attaches the container whose init is `pid`; on any failure, nothing it made is left. */
export function attachContainer(pid: number, a: Attachment): AttachResult {
  const host = hostRoute();
  const bridgeIndex = ensureBridge({ name: a.bridge, address: a.bridgeAddress, mtu: a.mtu }, host);
  const mac = a.mac ?? randomMac();
  let inside: NetlinkSocket | undefined;
  let created = false;
  try {
    inside = openNetlink(NETLINK_ROUTE, { netnsPid: pid });
    const hostIndex = createVeth(
      { hostName: a.hostIfname, peerName: a.ifname, peerNetnsPid: pid, master: bridgeIndex, mtu: a.mtu, mac },
      host,
    );
    created = true;
    if (a.hairpin ?? true) setHairpin(hostIndex, true, host);
    const peer = getLink(a.ifname, inside);
    if (!peer) throw new Error(`${a.ifname} is missing in the netns of process ${pid} right after its creation`);
    setLink(peer.index, { up: true }, inside);
    addAddress(peer.index, `${a.address}/${a.prefixLength}`, inside);
    if (a.defaultRoute) addRoute({ gateway: a.gateway, link: peer.index }, inside);
    return { mac, hostIndex };
  } catch (err) {
    // Deleting the host end deletes the pair, wherever its peer is.
    if (created) deleteLink(a.hostIfname, host);
    throw err;
  } finally {
    inside?.close();
  }
}

/**
 * Removes the container's interface `ifname` (and so its host end); false when it was already gone
 * (so was the container's netns when its process has died: the kernel removed the pair then).
 * The caller vouches that `pid` is still the container's init (a recycled pid is another netns).
 */
export function detachContainer(pid: number, ifname: string): boolean {
  let inside: NetlinkSocket;
  try {
    inside = openNetlink(NETLINK_ROUTE, { netnsPid: pid });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  try {
    return deleteLink(ifname, inside);
  } finally {
    inside.close();
  }
}
