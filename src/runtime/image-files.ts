// Reads files of an image's merged filesystem (its layers stacked as overlayfs would) without
// mounting anything, e.g. /etc/passwd for `-u name`. Symlinks are resolved inside the image, never
// against the host, so a hostile image cannot make box read a host file. (Opaque directories are
// not consulted: that needs xattrs, and only decides which image file is read, never a host one.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';

/** Host path of an image file, resolved through the layers (topmost first), or undefined. */
export function resolveInLayers(layers: string[], file: string, hops = 0): string | undefined {
  if (hops > 40) return undefined;
  const parts = path.posix
    .normalize('/' + file)
    .split('/')
    .filter(Boolean);
  let cur = '';
  for (let i = 0; i < parts.length; i++) {
    const candidate = `${cur}/${parts[i]}`;
    const found = topmost(layers, candidate);
    if (!found) return undefined;
    const st = fs.lstatSync(found);
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(found);
      const base = target.startsWith('/') ? target : `${cur}/${target}`;
      return resolveInLayers(layers, [base, ...parts.slice(i + 1)].join('/'), hops + 1);
    }
    if (i === parts.length - 1) return st.isFile() ? found : undefined;
    if (!st.isDirectory()) return undefined;
    cur = candidate;
  }
  return undefined;
}

/**
 * lstat of rel inside one layer, never through a symlink of that layer: a path whose parent is a
 * symlink or a non-directory in this layer does not exist in it (overlayfs does not merge through
 * it either). Without this, a lower layer's `a -> /` would make `a/etc/passwd` a host file.
 */
function lstatInLayer(layer: string, rel: string): fs.Stats | undefined {
  const parts = rel.split('/').filter(Boolean);
  let p = layer;
  for (let i = 0; i < parts.length; i++) {
    p = path.join(p, parts[i]);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return undefined;
    }
    if (i === parts.length - 1) return st;
    if (!st.isDirectory()) return undefined;
  }
  return undefined;
}

// Unpacked layers keep deletions as overlay whiteouts: character devices 0:0.
const isWhiteout = (st: fs.Stats) => st.isCharacterDevice() && st.rdev === 0;

function topmost(layers: string[], rel: string): string | undefined {
  for (const layer of layers) {
    const st = lstatInLayer(layer, rel);
    if (!st) continue;
    if (isWhiteout(st)) return undefined; // hides the name in every layer below
    return path.join(layer, rel);
  }
  return undefined;
}

/** /etc/passwd and /etc/group of a large system are a few megabytes; an image's can be anything. */
const IMAGE_FILE_MAX = 16 << 20;

/** A regular file of the image (symlinks resolved inside it), read only below IMAGE_FILE_MAX. */
export function readImageFile(layers: string[], file: string): string | undefined {
  const p = resolveInLayers(layers, file);
  if (!p) return undefined;
  let bytes: Buffer;
  try {
    if (fs.statSync(p).size > IMAGE_FILE_MAX) {
      throw new BoxError(`the image's ${file} is larger than 16 MiB: box does not read it`);
    }
    bytes = fs.readFileSync(p);
  } catch (err) {
    if (err instanceof BoxError) throw err;
    return undefined;
  }
  return bytes.toString('utf8');
}
