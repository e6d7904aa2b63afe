// statfs(2) through koffi: which filesystem backs box's storage (overlayfs cannot put its upper
// directory on every filesystem, e.g. not on another overlay) and how much space it has.
import { libc } from './ffi';

// f_type values, written as <linux/magic.h> writes them.
const MAGIC = new Map<number, string>([
  [0xef53, 'ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlay'],
  [0x2fc12fc1, 'zfs'],
  [0x6969, 'nfs'],
  [0xf2f52010, 'f2fs'],
]);

export interface FsInfo {
  type: string;
  totalBytes: number;
  freeBytes: number;
}

let statfsFn: ((path: string, buf: Buffer) => number) | undefined;

export function statfs(path: string): FsInfo {
  statfsFn ??= libc().func('int statfs(const char *path, void *buf)') as (path: string, buf: Buffer) => number;
  const buf = Buffer.alloc(120); // struct statfs on 64-bit Linux
  if (statfsFn(path, buf) !== 0) throw new Error(`statfs ${path} failed`);
  const type = Number(buf.readBigInt64LE(0)) >>> 0;
  const bsize = Number(buf.readBigInt64LE(8));
  return {
    type: MAGIC.get(type) ?? `0x${type.toString(16)}`,
    totalBytes: Number(buf.readBigUInt64LE(16)) * bsize,
    freeBytes: Number(buf.readBigUInt64LE(32)) * bsize,
  };
}
