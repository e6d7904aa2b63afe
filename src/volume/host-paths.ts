// Host paths that end up mounted into containers (bind sources, a volume's bind device): resolved
// without symlinks, and never inside box's own storage or runtime root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { Roots } from '../paths';

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');

/** The host path without symlinks: the deepest existing ancestor's real path, then the rest as given. */
export function resolveHostPath(p: string): string {
  const rest: string[] = [];
  let cur = path.resolve(p);
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || cur === '/') throw err;
      rest.push(path.basename(cur));
      cur = path.dirname(cur);
    }
  }
}

/** Refuses a bind of box's own store (image layers, container roots, records) or runtime files. */
export function checkBindSource(roots: Roots, asked: string, resolved: string): void {
  for (const dir of [roots.root, roots.runroot]) {
    const real = resolveHostPath(dir);
    if (within(resolved, real)) {
      const via = asked === resolved ? '' : ` (${asked} leads there)`;
      throw new BoxError(
        `bind source ${resolved}${via} is inside box's own storage ${real}: box never mounts its store ` +
          '(layers, container roots, records) into a container; use a volume or another directory',
      );
    }
  }
}

/** A local volume's options that make it a bind of a host directory (type=none, o=bind or rbind). */
export function bindDevice(options: Record<string, string>): string | undefined {
  const words = (options.o ?? '').split(',');
  return options.type === 'none' && (words.includes('bind') || words.includes('rbind')) ? options.device : undefined;
}
