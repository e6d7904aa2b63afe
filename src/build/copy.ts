// COPY: which files a COPY takes (from the build context, minus .dockerignore, or from another
// stage's file system) and where they land, by Docker's rules: a directory's content is copied,
// not the directory; a file goes into DEST when DEST ends with / or is a directory, else becomes
// DEST; several sources need a directory DEST ending with /. Owners are root's unless --chown,
// modes the sources' unless --chmod. Every lookup goes through LayerStack (openat2 beneath the
// tree, no symlink followed), so no source path leads out of the context or the stage.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { child as childOf } from '../image/export';
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } from '../linux/syscalls';
import { Found, isWhiteout, LayerStack } from '../runtime/diff';
import { LayerEntry, Owner } from './layer-tar';
import { hasWildcard, IgnoreRules, matchSegment } from './patterns';

/** A tree COPY reads from: the context (with its ignore rules) or a stage's layers. */
export interface SourceTree {
  stack: LayerStack;
  ignore?: IgnoreRules;
  /** for messages: "the build context" or "stage build" */
  what: string;
}

export interface CopyRequest {
  sources: string[];
  /** absolute or relative to workdir; a trailing / says it is a directory */
  dest: string;
  workdir: string;
  owner?: Owner;
  mode?: number;
  /** ADD of an archive: owners as the archive has them, not root's */
  keepOwners?: boolean;
}

const visible = (tree: SourceTree, p: string) => !tree.ignore?.excludes(p.replace(/^\/+/, ''));

/** The paths of the tree a source names, wildcards expanded (sorted, as Docker does). */
function expandSource(tree: SourceTree, source: string): string[] {
  const clean = path.posix.normalize('/' + source);
  if (!hasWildcard(clean)) return tree.stack.lookup(clean, false) && visible(tree, clean) ? [clean] : [];
  let paths = ['/'];
  for (const seg of clean.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const p of paths) {
      if (!hasWildcard(seg)) {
        next.push(path.posix.join(p, seg));
        continue;
      }
      const dir = tree.stack.lookup(p, true);
      if (!dir?.stat.isDirectory()) continue;
      for (const name of tree.stack.readdir(dir)) if (matchSegment(seg, name)) next.push(path.posix.join(p, name));
    }
    paths = next;
  }
  return paths.filter((p) => tree.stack.lookup(p, false) && visible(tree, p)).sort();
}

/**
 * The entries of a COPY's layer: the destination's parent directories as the image has them
 * (or 0755 root when new), then what is copied. `image` is the stage's file system so far.
 */
export function copyEntries(tree: SourceTree, image: LayerStack, req: CopyRequest): LayerEntry[] {
  const found: { path: string; node: Found }[] = [];
  for (const s of req.sources) {
    const paths = expandSource(tree, s);
    if (!paths.length) {
      const hint = tree.ignore ? ' (or it is excluded by .dockerignore)' : '';
      throw new BoxError(`"${s}" not found in ${tree.what}${hint}: check the path`);
    }
    for (const p of paths) found.push({ path: p, node: tree.stack.lookup(p, false)! });
  }
  let dest = req.dest.startsWith('/') ? req.dest : path.posix.join(req.workdir || '/', req.dest);
  const destIsDir = req.dest.endsWith('/') || req.dest === '.' || image.lookup(dest, true)?.stat.isDirectory() === true;
  dest = path.posix.normalize(dest).replace(/(.)\/+$/, '$1'); // `/app/` and `/app` are one directory
  if (found.length > 1 && !destIsDir)
    throw new BoxError(`COPY with more than one source needs a directory destination ending with /: "${req.dest}/"`);

  const entries: LayerEntry[] = [];
  const emitted = new Set<string>();
  const parentDirs = (to: string) => {
    const parts = to.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) ensureDir('/' + parts.slice(0, i).join('/'), undefined);
  };
  /** A directory of the layer: as the image has it, else new (root's, or --chown's for the destination). */
  const ensureDir = (to: string, owner: Owner | undefined, from?: Found) => {
    if (emitted.has(to)) return;
    emitted.add(to);
    const existing = image.lookup(to, true);
    if (existing?.stat.isDirectory()) {
      const st = existing.stat;
      entries.push({ to, kind: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtimeMs / 1000 });
    } else if (from) {
      entries.push({
        to,
        kind: 'copy',
        stack: tree.stack,
        layer: from.layer,
        rel: from.rel,
        stat: from.stat,
        owner: owner ?? ROOT,
      });
    } else entries.push({ to, kind: 'dir', mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, mtime: 0 });
  };
  const copyNode = (from: string, node: Found, to: string) => {
    entries.push({
      to,
      kind: 'copy',
      stack: tree.stack,
      layer: node.layer,
      rel: node.rel,
      stat: node.stat,
      owner: req.owner ?? (req.keepOwners ? undefined : ROOT),
      mode: req.mode,
    });
    emitted.add(to);
    if (node.stat.isDirectory()) copyContent(from, node, to);
  };
  const copyContent = (from: string, dir: Found, to: string) => {
    for (const [name, node] of children(tree.stack, dir)) {
      const child = path.posix.join(from, name);
      if (!visible(tree, child)) {
        // an excluded directory may still hold exceptions (`!dir/keep`): looked into only then
        if (node.stat.isDirectory() && hasVisibleInside(tree, child, node)) {
          ensureDir(path.posix.join(to, name), req.owner, node);
          copyContent(child, node, path.posix.join(to, name));
        }
        continue;
      }
      copyNode(child, node, path.posix.join(to, name));
    }
  };
  for (const { path: p, node } of found) {
    if (node.stat.isDirectory()) {
      parentDirs(dest + '/x');
      if (dest !== '/') ensureDir(dest, req.owner, node);
      copyContent(p, node, dest);
    } else {
      const to = destIsDir ? path.posix.join(dest, path.posix.basename(p)) : dest;
      parentDirs(to);
      copyNode(p, node, to);
    }
  }
  return entries;
}

const ROOT: Owner = { uid: 0, gid: 0 };

function hasVisibleInside(tree: SourceTree, dirPath: string, dir: Found): boolean {
  for (const [name, node] of children(tree.stack, dir)) {
    const child = path.posix.join(dirPath, name);
    if (visible(tree, child)) return true;
    if (node.stat.isDirectory() && hasVisibleInside(tree, child, node)) return true;
  }
  return false;
}

/** The visible entries of a merged directory, by name, each found from its parent (not from the root). */
function children(stack: LayerStack, dir: Found): [string, Found][] {
  if (dir.dirLayers.length === 1) return oneLayerChildren(stack, dir);
  const names = new Set<string>();
  for (const i of dir.dirLayers) for (const n of stack.names(i, dir.rel)) names.add(n);
  const out: [string, Found][] = [];
  for (const name of [...names].sort()) {
    const node = childOf(stack, dir, name);
    if (node) out.push([name, node]);
  }
  return out;
}

/**
 * children() of a directory that one layer alone holds (the context; a stage's new directories):
 * it is opened once, beneath its layer with no symlink followed, and each name is lstat'ed
 * through that descriptor (a name from readdir has no slash and the last component is not
 * followed): one call per entry instead of an open, a stat and a close.
 */
function oneLayerChildren(stack: LayerStack, dir: Found): [string, Found][] {
  const layer = dir.dirLayers[0];
  const fd =
    dir.rel === '.'
      ? fs.openSync(`/proc/self/fd/${stack.rootFd(layer)}`, O_RDONLY | O_DIRECTORY)
      : stack.open(layer, dir.rel, O_RDONLY | O_DIRECTORY);
  try {
    const out: [string, Found][] = [];
    for (const name of fs.readdirSync(`/proc/self/fd/${fd}`).sort()) {
      const stat = fs.lstatSync(`/proc/self/fd/${fd}/${name}`);
      if (isWhiteout(stat)) continue;
      const rel = dir.rel === '.' ? name : `${dir.rel}/${name}`;
      out.push([name, { layer, rel, stat, dirLayers: stat.isDirectory() ? [layer] : [] }]);
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** The files whose content the cache key's pass keeps on their entries: small ones, up to a total. */
const KEEP_FILE_BYTES = 64 << 10;
const KEEP_TOTAL_BYTES = 64 << 20;

/**
 * What the cache key of a COPY reads: each entry's place, type, mode, owner and content (no
 * mtime). The content of small files is kept on their entries, so that if the step runs, its
 * layer is written without opening them again (a third of the syscalls of a 5,000-file COPY).
 */
export function entriesDigest(entries: LayerEntry[]): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20); // one for all files: 1 MiB per file was 5 GiB of garbage for 5,000
  let kept = 0;
  for (const e of entries) {
    if (e.kind !== 'copy') {
      h.update(JSON.stringify(e) + '\n');
      continue;
    }
    const st = e.stat;
    const mode = e.mode ?? st.mode & 0o7777;
    h.update(`${e.to}\0${st.mode >>> 12}\0${mode}\0${e.owner?.uid ?? st.uid}:${e.owner?.gid ?? st.gid}\0`);
    if (st.isSymbolicLink()) h.update(e.stack.readlink(e.layer, e.rel));
    else if (st.isFile()) {
      const fd = e.stack.open(e.layer, e.rel, O_RDONLY | O_NOFOLLOW);
      try {
        for (let n: number, first = true; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; first = false) {
          h.update(buf.subarray(0, n));
          if (n === buf.length) continue;
          // a regular file's short read is its end: no read to see 0
          if (first && n <= KEEP_FILE_BYTES && kept + n <= KEEP_TOTAL_BYTES) {
            e.content = Buffer.from(buf.subarray(0, n));
            kept += n;
          }
          break;
        }
      } finally {
        fs.closeSync(fd);
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) h.update(String(st.rdev));
    h.update('\n');
  }
  return h.digest('hex');
}
