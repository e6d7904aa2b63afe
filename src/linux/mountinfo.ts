// The host's mount table as the kernel gives it (/proc/self/mountinfo): which mount holds a path,
// and every mount with its file system type (for `box system check`).
import * as fs from 'node:fs';

/** Octal escapes (\040 for a space) in mountinfo's paths. */
const unescapeOctal = (p: string) =>
  p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

export interface MountEntry {
  /** where it is mounted, unescaped */
  mountPoint: string;
  fstype: string;
  source: string;
}

/** Every mount of this process's mount namespace, in the kernel's order (parents before children). */
export function mountTable(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 5 || sep < 0) continue;
    out.push({ mountPoint: unescapeOctal(fields[4]), fstype: fields[sep + 1], source: unescapeOctal(fields[sep + 2]) });
  }
  return out;
}

/** The mount point of the mount that holds `realPath` (a path without symlinks): its longest prefix in the table. */
export function mountPointOf(realPath: string): string {
  let best = '/';
  for (const { mountPoint: p } of mountTable()) {
    const inside = p === '/' || realPath === p || realPath.startsWith(p + '/');
    if (inside && p.length > best.length) best = p;
  }
  return best;
}
