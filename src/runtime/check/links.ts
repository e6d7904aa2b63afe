// Host network links of this root, from the kernel's link table (netlink): the host ends of
// containers' veths (vb<10 hex of the container id><n>, kernel-names.ts) of containers that are
// not running, and bridges named as this root names them (its tag) that no network record gives.
// A veth is this root's when its container id is one the root knows or it is plugged into one
// of the root's bridges. The kernel dismantles a dead container's network namespace, and the veth
// in it, a moment after its last process ends: a veth counts only if it outlives a bounded wait.
import { lockFile, tryLockFile } from '../../image/locks';
import { lockPaths } from '../../paths';
import { bridgeName, DEFAULT_NETWORK, NetworkStore } from '../../network/store';
import { rootTag, vethContainerPrefix } from '../../network/kernel-names';
import { deleteLink, LinkInfo, listLinks } from '../../network/links';
import { otherHolderOfTag } from '../../network/tag-claims';
import type { Roots } from '../../paths';
import { CheckContext, persisting } from './context';
import { Checker, Finding } from './types';

/** The bridges this root's network records give. */
function recordedBridges(roots: Roots): Set<string> {
  const out = new Set<string>();
  for (const n of new NetworkStore(roots).readSync()) if (n.Driver === 'bridge') out.add(bridgeName(roots, n));
  return out;
}

/** Whether the name is one this root gives its bridges (box0 / box-<11 hex>, or bx<tag>0 / bx<tag>-<8 hex>). */
function isRootBridgeName(roots: Roots, name: string): boolean {
  const tag = rootTag(roots);
  return tag === '' ? /^box(0|-[0-9a-f]{11})$/.test(name) : new RegExp(`^bx${tag}(0|-[0-9a-f]{8})$`).test(name);
}

function staleVeths(ctx: CheckContext, links: LinkInfo[], bridges: Set<string>): Finding[] {
  const out: Finding[] = [];
  for (const l of links) {
    const prefix = vethContainerPrefix(l.name);
    if (!prefix || l.kind !== 'veth') continue;
    const id = ctx.idByPrefix(prefix);
    const onOurBridge = l.master !== undefined && bridges.has(l.master);
    if (id === undefined && !onOurBridge) continue; // another root's container
    if (id !== undefined && ctx.inUse(id)) continue;
    const whose = id === undefined ? `container ${prefix}...` : `container ${id.slice(0, 12)}`;
    const reason = `host end of a veth of ${whose}, which is not running`;
    out.push({ kind: 'veth', object: l.name, reason, detail: id ? { id } : {} });
  }
  return out;
}

export const linkChecker: Checker = {
  kind: 'network-link',
  async find(ctx) {
    const bridges = recordedBridges(ctx.roots);
    // a dead namespace's veth goes a moment after it; a starting container's is there before it runs
    const stillLeft = (found: Finding[]) => {
      const again = new Set(staleVeths(new CheckContext(ctx.roots), listLinks(), bridges).map((v) => v.object));
      return found.filter((v) => again.has(v.object));
    };
    const out = await persisting(staleVeths(ctx, listLinks(), bridges), stillLeft);
    // the bridges named with this root's tag are another root's while that root holds the tag
    if (otherHolderOfTag(ctx.roots) !== undefined) return out;
    // a network being created or removed holds this lock (its record and bridge come and go under it)
    const networksLock = tryLockFile(lockPaths.networks(ctx.roots));
    if (!networksLock) return out;
    try {
      const recorded = recordedBridges(ctx.roots);
      for (const l of listLinks()) {
        if (l.kind !== 'bridge' || !isRootBridgeName(ctx.roots, l.name) || recorded.has(l.name)) continue;
        const reason = `bridge of a network of this root that does not exist (${DEFAULT_NETWORK} or a removed one)`;
        out.push({ kind: 'bridge', object: l.name, reason, detail: {} });
      }
    } finally {
      networksLock.release();
    }
    return out;
  },
  async fix(ctx, f) {
    if (f.kind === 'bridge') {
      // the lock `network create` and `rm` take: no network can take the name meanwhile
      const lock = await lockFile(lockPaths.networks(ctx.roots));
      try {
        if (!recordedBridges(ctx.roots).has(f.object)) deleteLink(f.object);
      } finally {
        lock.release();
      }
      return;
    }
    const id = f.detail?.id === undefined ? undefined : String(f.detail.id);
    const lock = id === undefined ? 'absent' : ctx.tryLockContainer(id);
    if (lock === 'busy') throw new Error(`container ${id!.slice(0, 12)} is in use by a box command`);
    try {
      const now = new CheckContext(ctx.roots);
      if (id !== undefined && (now.isLive(id) || now.ownerHeld(id))) throw new Error('its container runs now');
      deleteLink(f.object);
    } finally {
      if (lock !== 'absent') lock.release();
    }
  },
};
