// What box runs or loads from outside its store must be changeable by root alone: the native
// modules it extracts into its cache directory (koffi's, the helper, loaded and run as root) and
// the default admission policies of policies.d. The rule is the store's (safe-open.ts): owned by
// root, writable by nobody else, in directories only root can change (or sticky, as /tmp).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';

const S_ISVTX = 0o1000;
export const octal = (perm: number) => perm.toString(8).padStart(4, '0');

/** Why `st` (of a file or directory) is not root's alone, or undefined when it is. */
export function notRootsAlone(st: fs.Stats): string | undefined {
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root`;
  const perm = st.mode & 0o7777;
  if (perm & 0o022) return `has mode ${octal(perm)}, writable by group or others`;
  return undefined;
}

/**
 * Why an existing directory above `p` lets someone other than root swap `p` (owned by another
 * user, or writable by group or others and not sticky), or undefined when none does.
 */
export function unsafeAncestor(p: string): string | undefined {
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d, { throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      st = undefined; // not searchable by this user: checked by root's own runs
    }
    if (st && st.uid !== 0) return `is inside ${d}, owned by uid ${st.uid}`;
    if (st && st.mode & 0o022 && !(st.mode & S_ISVTX)) {
      return `is inside ${d}, mode ${octal(st.mode & 0o7777)}, writable by group or others`;
    }
    if (d === path.dirname(d)) return undefined;
  }
}

const trustedCacheDirs = new Set<string>();

/**
 * Makes `dir` (if missing) and makes sure that it, where box extracts the native code it loads and
 * runs, is root's alone: not a symbolic link, owned by root, mode 0700 (tightened when only read
 * or search is open to others), in directories only root can change. Once per process and dir.
 */
export function trustCacheDir(dir: string): void {
  if (trustedCacheDirs.has(dir)) return;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.geteuid?.() !== 0) return; // only root's box loads from it; others cannot run containers
  const refuse = (why: string) =>
    new BoxError(
      `box's cache directory ${dir} ${why}: box loads native code from it; make it root's alone or remove it`,
    );
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) throw refuse('is a symbolic link');
  if (!st.isDirectory()) throw refuse('is not a directory');
  const why = notRootsAlone(st) ?? unsafeAncestor(dir);
  if (why) throw refuse(why);
  if (st.mode & 0o077) fs.chmodSync(dir, 0o700);
  trustedCacheDirs.add(dir);
}
