// What a storage root leaves behind, seen by the store's own files and by the kernel: the
// inventory the fault-injection tests take after a killed command and the user's recovery.
// The kernel's view reuses leftovers() (mounts, cgroups in every hierarchy, helper processes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageStore } from '../../src/image/store';
import { leftovers, TestRoot } from './box';

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Whether a name carries the token ("-<pid>.<start>-<random>") of a process that runs now. */
function ownerRuns(name: string): boolean {
  const m = /-(\d+)\.(\d+)-[0-9a-f]+$/.exec(name);
  if (!m) return false;
  try {
    const stat = fs.readFileSync(`/proc/${m[1]}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === m[2];
  } catch {
    return false;
  }
}

/**
 * Paths under dir (relative to root) named as temporary files by a process that no longer runs,
 * at any depth; of a layer or a container directory only its own entries are looked at, not
 * the file system it holds.
 */
function tempFilesUnder(root: string, dir: string, out: string[], shallow = false): void {
  for (const n of readdir(dir)) {
    const p = path.join(dir, n);
    if (n.startsWith('.tmp-') || /\.tmp-\d/.test(n)) {
      if (!ownerRuns(n)) out.push(`temporary file ${path.relative(root, p)}`);
    } else if (!shallow && fs.lstatSync(p).isDirectory()) tempFilesUnder(root, p, out, /^[0-9a-f]{64}$/.test(n));
  }
}

/**
 * What the store holds that nothing owns, whatever images and containers exist: work files and
 * tmp/ entries of processes that no longer run, short links without their layer, layers and
 * blobs no image or container uses, image records without config, markers of dead store
 * operations, names and container locks of containers that do not exist, container directories
 * without a record.
 */
export function storeLeftovers(t: TestRoot): string[] {
  const root = t.root;
  const runroot = path.join(root, 'run');
  const out: string[] = [];
  tempFilesUnder(root, root, out);
  for (const f of readdir(path.join(root, 'tmp'))) if (!ownerRuns(f)) out.push(`tmp entry tmp/${f}`);
  const store = new ImageStore({ root, runroot });
  const images = store.list();
  const containers = readdir(path.join(root, 'containers')).filter((id) => /^[0-9a-f]{64}$/.test(id));
  const records = containers.flatMap((id) => {
    try {
      const file = path.join(root, 'containers', id, 'container.json');
      return [JSON.parse(fs.readFileSync(file, 'utf8')) as { id: string; config: { layers: string[] } }];
    } catch {
      out.push(`container directory without a record containers/${id}`);
      return [];
    }
  });
  const layersOfImages = images.flatMap((i) => i.config.rootfs.diff_ids);
  const usedLayers = new Set([...layersOfImages, ...records.flatMap((r) => r.config.layers)].map((d) => d.slice(7)));
  const usedBlobs = new Set<string>();
  for (const img of images) {
    usedBlobs.add(img.id.slice(7));
    const meta = store.readMeta(img.id);
    for (const d of [...(meta.manifests ?? []), ...(meta.layerBlobs ?? [])]) usedBlobs.add(d.slice(7));
  }
  const isHex = (n: string) => /^[0-9a-f]{64}$/.test(n);
  for (const l of readdir(path.join(root, 'layers'))) if (isHex(l) && !usedLayers.has(l)) out.push(`unused layer ${l}`);
  for (const b of readdir(path.join(root, 'blobs', 'sha256'))) {
    if (isHex(b) && !usedBlobs.has(b)) out.push(`unused blob ${b}`);
  }
  for (const f of readdir(path.join(root, 'images'))) {
    const m = /^([0-9a-f]{64})\.json$/.exec(f);
    if (m && !store.hasImage(m[1])) out.push(`image record without config images/${f}`);
  }
  for (const n of readdir(path.join(root, 'l'))) {
    const target = fs.readlinkSync(path.join(root, 'l', n));
    const m = /^\.\.\/layers\/([0-9a-f]{64})\/diff$/.exec(target);
    const linkFile = m ? path.join(root, 'layers', m[1], 'link') : undefined;
    const owner = linkFile && fs.existsSync(linkFile) ? fs.readFileSync(linkFile, 'utf8').trim() : undefined;
    if (owner !== n) out.push(`short link without its layer l/${n}`);
  }
  for (const m of readdir(path.join(runroot, 'store-ops'))) {
    if (m !== 'swept' && !ownerRuns(m)) out.push(`marker of a store operation that is not running run/store-ops/${m}`);
  }
  for (const n of readdir(path.join(root, 'names'))) {
    const id = fs.readlinkSync(path.join(root, 'names', n));
    if (!containers.includes(id)) out.push(`name of a removed container names/${n}`);
  }
  for (const f of readdir(path.join(runroot, 'locks', 'containers'))) {
    const id = f.replace(/\.lock$/, '');
    if (!containers.includes(id)) out.push(`lock of a removed container run/locks/containers/${f}`);
  }
  return out;
}

/** Processes whose command line names this root: box commands, exit callbacks, restart back-offs. */
export function boxProcessesOf(t: TestRoot): string[] {
  const out: string[] = [];
  for (const p of readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.includes(t.root)) out.push(`process ${p}: ${argv.join(' ').trim().slice(0, 160)}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Network namespace files of this root's containers (bind mounts under the root or /run/netns). */
export function netnsFilesOf(t: TestRoot): string[] {
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '));
  const ours = (p: string | undefined) => p?.startsWith(t.dir + '/') || p?.startsWith('/run/netns/box');
  return mounts.filter((m) => m[2] === 'nsfs' && ours(m[1])).map((m) => `network namespace file ${m[1]}`);
}

/**
 * Everything a root leaves after its containers and images were all removed: the kernel's view
 * (mounts, cgroups, veths, helper and box processes, network namespace files) and the store's
 * (records, names, locks, layers, blobs, links, temporary files, address allocations). Empty means nothing was lost.
 */
export function inventoryAfterRemoval(t: TestRoot): string[] {
  const out = [...leftovers(t), ...boxProcessesOf(t), ...netnsFilesOf(t), ...storeLeftovers(t)];
  const root = t.root;
  for (const id of readdir(path.join(root, 'containers'))) out.push(`container containers/${id}`);
  for (const r of readdir(path.join(root, 'repositories'))) out.push(`tag repositories/${r}`);
  for (const l of readdir(path.join(root, 'layers'))) if (/^[0-9a-f]{64}$/.test(l)) out.push(`layer ${l}`);
  for (const n of readdir(path.join(root, 'networks'))) {
    const file = path.join(root, 'networks', n, 'ipam.json');
    if (!fs.existsSync(file)) continue;
    const ipam = JSON.parse(fs.readFileSync(file, 'utf8')) as { allocations: Record<string, { address: string }> };
    for (const [id, a] of Object.entries(ipam.allocations)) out.push(`address ${a.address} of container ${id}`);
  }
  return [...new Set(out)];
}
