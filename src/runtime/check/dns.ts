// Networks' DNS state in the runtime root and the responders serving it: names published for
// containers that hold no address on the network any more (killed before they could withdraw
// them), and responder processes (`box internal dns NETWORK`) of this root that serve nothing:
// stopped (state T), not the one the network's pid file names, of a network that does not exist,
// or still running with no name to serve well past the grace after which a responder ends by
// itself. A responder being started or stopped holds the network's DNS lock: then it is left.
import { tryLockExistingFile } from '../../image/locks';
import { repairResponders } from '../../network/dns/containers';
import { liveAllocations } from '../../network/ipam';
import { NetworkStore } from '../../network/store';
import { networksWithNames, readNames, reconcileNames } from '../../network/dns/names';
import { readResponderPid } from '../../network/dns/pid-file';
import { layout, lockPaths } from '../../paths';
import * as fs from 'node:fs';
import { CheckContext, persisting } from './context';
import { internalCall, isRootCommand, killFound, listProcs, Proc } from './procs';
import { Checker, Finding } from './types';

/**
 * A responder with no names ends by itself after a 2 s grace: one idle for longer than this (since
 * its names file was last replaced or removed, which its directory's mtime tells) is not ending.
 */
const IDLE_LEFTOVER_MS = 15_000;

function idleForMs(ctx: CheckContext, networkId: string): number {
  try {
    return Date.now() - fs.statSync(layout.runNetwork(ctx.roots, networkId)).mtimeMs;
  } catch {
    return Infinity;
  }
}

function dnsLockBusy(ctx: CheckContext, networkId: string): boolean {
  const lock = tryLockExistingFile(lockPaths.networkDns(ctx.roots, networkId));
  if (lock === 'busy') return true;
  if (lock !== 'absent') lock.release();
  return false;
}

function responderReason(ctx: CheckContext, p: Proc, networkId: string): string | undefined {
  if (p.state === 'T' || p.state === 't') return 'DNS responder stopped (state T): it answers nothing and never ends';
  if (!/^[0-9a-f]{64}$/.test(networkId) || !fs.existsSync(layout.network(ctx.roots, networkId))) {
    return `DNS responder of network ${networkId.slice(0, 12)}, which does not exist`;
  }
  if (dnsLockBusy(ctx, networkId)) return undefined;
  if (readResponderPid(ctx.roots, networkId)?.token !== `${p.pid}.${p.start}`) {
    return "DNS responder the network's pid file does not name (another one serves it, or none is recorded)";
  }
  if (readNames(ctx.roots, networkId).length === 0 && idleForMs(ctx, networkId) > IDLE_LEFTOVER_MS) {
    return 'DNS responder of a network with no containers, which should have ended by itself';
  }
  return undefined;
}

function staleResponders(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  for (const p of listProcs()) {
    const call = isRootCommand(ctx.roots, p) ? internalCall(p) : undefined;
    if (call?.event !== 'dns') continue;
    const reason = responderReason(ctx, p, call.arg);
    if (reason) {
      const object = `pid ${p.pid} (box internal dns ${call.arg.slice(0, 12)})`;
      out.push({
        kind: 'dns',
        object,
        reason,
        detail: { pid: p.pid, start: p.start },
      });
    }
  }
  return out;
}

export const dnsChecker: Checker = {
  kind: 'dns',
  async find(ctx) {
    const unserved = () =>
      networksWithNames(ctx.roots).flatMap((id) => {
        const live = liveAllocations(ctx.roots, id);
        return readNames(ctx.roots, id)
          .filter((e) => !live.has(e.containerId))
          .map((e) => ({ network: id, entry: e, key: `${id}/${e.containerId}` }));
      });
    // a container's end withdraws its names a moment after its init is gone
    const left = await persisting(unserved(), (list) => {
      const again = new Set(unserved().map((u) => u.key));
      return list.filter((u) => again.has(u.key));
    });
    const out: Finding[] = left.map(({ network, entry }) => ({
      kind: 'dns',
      object: `${entry.names.join(', ')} on network ${network.slice(0, 12)}`,
      reason: `names of container ${entry.containerId.slice(0, 12)}, which holds no address on the network`,
      detail: { network },
    }));
    return [...out, ...staleResponders(ctx)];
  },
  async fix(ctx, f) {
    if (f.detail?.network !== undefined) {
      const id = String(f.detail.network);
      // read under the names' lock: a start allocates its address before it publishes its names
      await reconcileNames(ctx.roots, id, (containerId) => liveAllocations(ctx.roots, id).has(containerId));
      return;
    }
    killFound(Number(f.detail!.pid), String(f.detail!.start));
    // a network whose containers still have names gets a responder that answers again
    await repairResponders(ctx.roots, new NetworkStore(ctx.roots).readSync());
  },
};
