// The runtime root's per-object directories and lock files: <runroot>/containers/<id> (and its
// monitor's <id>.state beside it) of a container with no record (a record removed by hand, a
// removal killed between its steps), and <runroot>/networks/<id> and the network lock files of
// networks that do not exist. A creation
// at work holds the container's lock, and a foreground run its owner lock in the directory until
// it has removed it: a held lock means "not a leftover".
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tryLockExistingFile } from '../../image/locks';
import { CONTAINER_ID_RE, layout, lockPaths } from '../../paths';
import { runtimeEntryId } from '../monitor-state';
import { CheckContext, persisting, readdir } from './context';
import { Checker, Finding } from './types';

function networkExists(ctx: CheckContext, id: string): boolean {
  return fs.existsSync(layout.network(ctx.roots, id));
}

export const runtimeDirChecker: Checker = {
  kind: 'runtime-dir',
  async find(ctx) {
    // a foreground run holds its owner lock in the directory until it has removed it
    // a container's runtime directory or its monitor's state file, by the id it belongs to
    const entries = readdir(layout.runContainers(ctx.roots)).flatMap((name) => {
      const id = runtimeEntryId(name);
      return id ? [{ id, object: path.join(layout.runContainers(ctx.roots), name) }] : [];
    });
    const orphaned = (list: typeof entries) => list.filter((e) => !ctx.exists(e.id) && !ctx.inUse(e.id));
    const left = await persisting(entries, (list) => orphaned(list).filter((e) => fs.existsSync(e.object)));
    const out: Finding[] = left.map(({ id, object }) => ({
      kind: 'runtime-dir',
      object,
      reason: `container ${id.slice(0, 12)} does not exist`,
      detail: { id },
    }));
    for (const id of readdir(layout.runNetworks(ctx.roots))) {
      if (!CONTAINER_ID_RE.test(id) || networkExists(ctx, id)) continue;
      const object = layout.runNetwork(ctx.roots, id);
      out.push({
        kind: 'runtime-dir',
        object,
        reason: `network ${id.slice(0, 12)} does not exist`,
        detail: { network: id },
      });
    }
    const networkLocks = path.join(layout.locks(ctx.roots), 'networks');
    for (const f of readdir(networkLocks)) {
      const id = /^([0-9a-f]{64})(\.dns)?\.lock$/.exec(f)?.[1];
      if (!id || networkExists(ctx, id)) continue;
      const object = path.join(networkLocks, f);
      out.push({
        kind: 'runtime-dir',
        object,
        reason: `lock file of network ${id.slice(0, 12)}, which does not exist`,
        detail: { lockOf: id },
      });
    }
    return out;
  },
  async fix(ctx, f) {
    const d = f.detail ?? {};
    if (d.id !== undefined) {
      const id = String(d.id);
      const lock = ctx.tryLockContainer(id);
      if (lock === 'busy') throw new Error(`container ${id.slice(0, 12)} is in use by a box command`);
      try {
        if (!ctx.exists(id)) fs.rmSync(f.object, { recursive: true, force: true });
      } finally {
        if (lock !== 'absent') lock.release();
      }
      return;
    }
    const network = String(d.network ?? d.lockOf);
    // the lock the network's DNS responder and names take (and, for a lock file, that lock itself)
    const file = d.lockOf !== undefined ? f.object : lockPaths.networkDns(ctx.roots, network);
    const lock = tryLockExistingFile(file);
    if (lock === 'busy') throw new Error(`network ${network.slice(0, 12)}'s lock is held by a box command`);
    try {
      if (!networkExists(ctx, network)) fs.rmSync(f.object, { recursive: true, force: true });
    } finally {
      if (lock !== 'absent') lock.release();
    }
  },
};
