// Reads files of an image's merged filesystem (its layers stacked as overlayfs would) without
// mounting anything, e.g. /etc/passwd for `-u name`. Symlinks are resolved inside the image, never
// against the host, so a hostile image cannot make box read a host file.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Host path of an image file, resolved through the layers (topmost first), or undefined. */
export function resolveInLayers(layers: string[], file: string, hops = 0): string | undefined {
  if (hops > 40) return undefined;
  const parts = path.posix.normalize('/' + file).split('/').filter(Boolean);
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

function topmost(layers: string[], rel: string): string | undefined {
  const dir = path.posix.dirname(rel);
  const name = path.posix.basename(rel);
  for (const layer of layers) {
    const p = path.join(layer, rel);
    try {
      fs.lstatSync(p);
      return p;
    } catch {
      // A whiteout in this layer hides the name in every layer below.
      if (fs.existsSync(path.join(layer, dir, `.wh.${name}`))) return undefined;
    }
  }
  return undefined;
}

export function readImageFile(layers: string[], file: string): string | undefined {
  const p = resolveInLayers(layers, file);
  if (!p) return undefined;
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}
