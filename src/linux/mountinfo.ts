// The host's mount table as the kernel gives it (/proc/self/mountinfo): which mount holds a path.
import * as fs from 'node:fs';

/** Octal escapes (\040 for a space) in mountinfo's paths. */
const unescapeOctal = (p: string) =>
  p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** The mount point of the mount that holds `realPath` (a path without symlinks): its longest prefix in the table. */
export function mountPointOf(realPath: string): string {
  let best = '/';
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (!point) continue;
    const p = unescapeOctal(point);
    const inside = p === '/' || realPath === p || realPath.startsWith(p + '/');
    if (inside && p.length > best.length) best = p;
  }
  return best;
}
