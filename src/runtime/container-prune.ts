// Removing stopped containers (`container prune`, `system prune`): every container that is not
// running, restarting or being removed, that the --filter values accept, with the space its
// writable layer took. The candidates are listed under the image store's exclusive lock, which
// `box run` holds shared from resolving its image until its container has started, so a container
// between its creation and its start is never one; a `box start` racing the prune is seen under
// the container's own lock (removeContainer refuses a container that is running by then).
import * as path from 'node:path';
import { BoxError } from '../errors';
import { withExclusiveStore } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { ContainerRecord } from '../model';
import { Roots } from '../paths';
import { diskUsage } from '../util/disk-usage';
import { pruneFilter } from './container-filter';
import { ContainerStore } from './containers';
import { refresh, removeContainer } from './lifecycle';

export interface ContainerPruneResult {
  removed: string[];
  bytes: number;
}

/** The size of a container's writable layer (Docker's SizeRw). */
export function containerSize(store: ContainerStore, c: ContainerRecord): number {
  return diskUsage(path.join(store.dir(c.id), 'upper'));
}

const stopped = (c: ContainerRecord) =>
  !c.state.restarting && c.state.status !== 'running' && c.state.status !== 'removing';

export async function pruneContainers(roots: Roots, filters: string[]): Promise<ContainerPruneResult> {
  const match = pruneFilter(filters);
  const store = new ContainerStore(roots);
  for (const record of store.list()) await refresh(roots, store, record); // ends found out first
  // Under the exclusive lock no `box run` is between creating its container and starting it, so
  // every stopped container seen then is one a prune may take; held only for the listing, so
  // that removal (which may take locks of its own) runs without it.
  const candidates = await withExclusiveStore(new ImageStore(roots), () =>
    store.list().filter((c) => stopped(c) && match(c.created, c.config.labels)),
  );
  const res: ContainerPruneResult = { removed: [], bytes: 0 };
  for (const c of candidates) {
    if (!store.get(c.id)) continue; // removed meanwhile (rm, a --rm run's end)
    const size = containerSize(store, c);
    try {
      await removeContainer(roots, store, c, false);
    } catch (err) {
      if (err instanceof BoxError) continue; // started meanwhile: it stays
      throw err;
    }
    res.removed.push(c.id);
    res.bytes += size;
  }
  return res;
}
