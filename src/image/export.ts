// `box export`: a container's file system, flattened (its image layers and its writable layer
// merged as overlayfs merges them: whiteouts hide, opaque directories cut off what is below) and
// written as one tar stream. The layers are read without mounting them, through LayerStack, so
// every lookup stays inside its layer (a symlink in the container never leads to the host).
import * as fs from 'node:fs';
import { BoxError } from '../errors';
import { isWhiteout, LayerStack } from '../runtime/diff';
import { O_NOFOLLOW, O_NONBLOCK, O_RDONLY } from '../linux/syscalls';
import { TarEntryType } from './tar-reader';
import { TarStream } from './tar-writer';

interface Node {
  layer: number;
  rel: string;
  stat: fs.Stats;
  /** directories: the layers whose copies are merged, topmost first */
  dirLayers: number[];
}

/** The visible child `name` of a merged directory, or undefined when a whiteout hides it. */
export function child(stack: LayerStack, dir: Node, name: string): Node | undefined {
  const rel = dir.rel === '.' ? name : `${dir.rel}/${name}`;
  for (let k = 0; k < dir.dirLayers.length; k++) {
    const i = dir.dirLayers[k];
    const st = stack.at(i, rel);
    if (!st) continue;
    if (isWhiteout(st)) return undefined;
    const dirLayers: number[] = [];
    if (st.isDirectory()) {
      for (const j of dir.dirLayers.slice(k)) {
        const below = j === i ? st : stack.at(j, rel);
        if (!below) continue;
        if (!below.isDirectory()) break;
        dirLayers.push(j);
        if (stack.isOpaque(j, rel)) break;
      }
    }
    return { layer: i, rel, stat: st, dirLayers };
  }
  return undefined;
}

export function typeOf(st: fs.Stats): TarEntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived, as tar does
}

// Linux's dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor).
export const major = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
export const minor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

export async function* contentOf(fd: number, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(Math.min(size, 256 * 1024) || 1);
  let left = size;
  while (left > 0) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), null);
    if (n === 0) break; // shorter than its stat said: TarStream reports it
    left -= n;
    yield Buffer.from(buf.subarray(0, n));
  }
}

/** Writes the merged tree of `layerDirs` (topmost first) as a tar archive to `out`. */
export async function exportLayers(layerDirs: string[], out: NodeJS.WritableStream): Promise<number> {
  const stack = new LayerStack(layerDirs);
  const tar = new TarStream(out);
  const links = new Map<string, string>(); // dev:ino of files with several links -> first name
  let entries = 0;
  try {
    const rootLayers = layerDirs.map((_, i) => i).filter((i) => stack.rootFd(i) >= 0);
    const roots: number[] = [];
    for (const i of rootLayers) {
      roots.push(i);
      if (stack.isOpaque(i, '.')) break;
    }
    if (!roots.length) throw new BoxError('export: the container has no file system (its image layers are missing)');
    const root: Node = { layer: roots[0], rel: '.', stat: stack.at(roots[0], '.')!, dirLayers: roots };

    const walk = async (dir: Node): Promise<void> => {
      const names = new Set<string>();
      for (const i of dir.dirLayers) for (const n of stack.names(i, dir.rel)) names.add(n);
      for (const name of [...names].sort()) {
        const node = child(stack, dir, name);
        if (!node) continue;
        const st = node.stat;
        const type = typeOf(st);
        if (!type) continue;
        const base = {
          path: node.rel,
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime: Math.floor(st.mtimeMs / 1000),
        };
        entries++;
        if (type === 'dir') {
          await tar.add({ ...base, type });
          await walk(node);
        } else if (type === 'symlink') {
          await tar.add({ ...base, type, linkpath: stack.readlink(node.layer, node.rel) });
        } else if (type === 'file') {
          const key = `${st.dev}:${st.ino}`;
          const first = st.nlink > 1 ? links.get(key) : undefined;
          if (first !== undefined) {
            await tar.add({ ...base, type: 'hardlink', linkpath: first });
            continue;
          }
          if (st.nlink > 1) links.set(key, node.rel);
          // Without blocking, and checked once open: a running container can put a FIFO (whose
          // open would wait forever) or a device node in the file's place after it was looked at.
          const fd = stack.open(node.layer, node.rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
          try {
            const opened = fs.fstatSync(fd);
            if (!opened.isFile()) {
              throw new BoxError(
                `export: ${node.rel} changed while being exported: try again, or stop the container first`,
              );
            }
            const size = opened.size;
            await tar.add({ ...base, type, size }, contentOf(fd, size));
          } finally {
            fs.closeSync(fd);
          }
        } else {
          await tar.add({ ...base, type, devmajor: major(st.rdev), devminor: minor(st.rdev) });
        }
      }
    };
    await walk(root);
    await tar.finish();
    return entries;
  } finally {
    stack.close();
  }
}
