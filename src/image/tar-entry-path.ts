// Where a tar entry lands: its member name made a path relative to the layer root, refused when it
// would leave it. Shared by unpacking, tar-split recording and image loading.
import { BoxError } from '../errors';

/** A tar entry box will not write: its name, and why. */
export class UnpackRefusedError extends BoxError {
  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`refused tar entry "${entry}": ${reason}`);
  }
}

/**
 * Normalises a member name to a path relative to the layer root ("" is the root itself), or
 * throws for names that would leave it.
 */
export function normaliseEntryPath(name: string, what = name): string {
  if (name.includes('\0')) throw new UnpackRefusedError(what, 'the name contains a NUL byte');
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new UnpackRefusedError(what, 'the path contains ".." and would leave the layer directory');
    parts.push(p);
  }
  return parts.join('/');
}
