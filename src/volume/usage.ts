// What volumes take on disk and what pruning them frees, in the shapes `system df` and `system
// prune --volumes` print (Docker's "Local Volumes" row, its -v section, "Deleted Volumes").
import { humanSize } from '../util/units';
import { Roots } from '../paths';
import { pruneVolumes } from './manage';
import { reconcileIfIdle, VolumeStore } from './store';

/** `system df`'s row: every volume, those a container uses, their sizes, what prune would free. */
export function volumeUsage(roots: Roots): {
  type: string;
  total: number;
  active: number;
  size: number;
  reclaimable: number;
} {
  reconcileIfIdle(roots);
  const store = new VolumeStore(roots);
  let size = 0;
  let active = 0;
  let reclaimable = 0;
  const all = store.list();
  for (const v of all) {
    const bytes = store.size(v.name);
    size += bytes;
    if (store.users(v.name).length) active++;
    else reclaimable += bytes;
  }
  return { type: 'Local Volumes', total: all.length, active, size, reclaimable };
}

/** `system df -v`'s section: each volume with the number of containers using it and its size. */
export function volumeUsageDetail(roots: Roots): { title: string; headers: string[]; rows: string[][] } {
  reconcileIfIdle(roots);
  const store = new VolumeStore(roots);
  const rows = store.list().map((v) => [v.name, String(store.users(v.name).length), humanSize(store.size(v.name))]);
  return { title: 'Local Volumes space usage:', headers: ['VOLUME NAME', 'LINKS', 'SIZE'], rows };
}

/** `system prune --volumes`: the anonymous volumes no container uses (Docker 23+). */
export async function pruneVolumesForSystem(
  roots: Roots,
): Promise<{ heading: string; lines: string[]; bytes: number }> {
  const res = await pruneVolumes(roots, { all: false, labels: [] });
  return { heading: 'Deleted Volumes', lines: res.removed, bytes: res.bytes };
}
