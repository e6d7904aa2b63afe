// Reading, writing and parsing cgroup files, creating cgroup directories, and the small rules
// about limits that both cgroup versions (cgroup-v1.ts, cgroup-v2.ts) share.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import type { CgroupLimits } from './cgroup-manager';

/** Memory and CPU quota are written together (their files depend on each other): did either change? */
export function limitsChanged(changed: CgroupLimits): { memChanged: boolean; cpuChanged: boolean } {
  return {
    memChanged: changed.memory !== undefined || changed.memorySwap !== undefined,
    cpuChanged: changed.cpuQuota !== undefined || changed.cpuPeriod !== undefined,
  };
}

/** pids.max of --pids-limit: 0 and -1 mean no limit. */
export const pidsMax = (n: number) => (n > 0 ? n : 'max');

/** A file's contents, or undefined if it cannot be read (a controller the host lacks). */
export function readCgroupFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The whitespace-separated words of a file (cgroup.controllers, cgroup.procs); none if unreadable. */
export function readWords(file: string): string[] {
  return (readCgroupFile(file) ?? '').split(/\s+/).filter(Boolean);
}

/** A file holding one non-negative integer; undefined if absent or anything else (e.g. "max"). */
export function readNumber(file: string | undefined): number | undefined {
  const text = readCgroupFile(file)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The number of lines of a file (tasks, cgroup.threads); 0 if unreadable. */
export function countLines(file: string | undefined): number {
  return (readCgroupFile(file) ?? '').split('\n').filter(Boolean).length;
}

/** "key value" lines (cpu.stat, memory.stat, memory.events, pids...) → numbers. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) m.set(k, Number(v));
  }
  return m;
}

/** One key of a flat-keyed file (memory.events, memory.oom_control); 0 if absent. */
export function counter(file: string, key: string): number {
  return parseFlatKeyed(readCgroupFile(file) ?? '').get(key) ?? 0;
}

/** cgroup v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=..."): bytes read and written, summed over devices. */
export function parseIoStat(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split('=');
      if (k === 'rbytes') read += Number(v);
      else if (k === 'wbytes') write += Number(v);
    }
  }
  return { read, write };
}

/** cgroup v1 blkio.*io_service_bytes* ("8:0 Read 4096" ... "Total 8192"): bytes read and written. */
export function parseBlkioServiceBytes(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    if (f[1] === 'Read') read += Number(f[2]);
    else if (f[1] === 'Write') write += Number(f[2]);
  }
  return { read, write };
}

/** Memory in use less the inactive page cache (reclaimable), as Docker reports usage. */
export function usageLessInactive(usage: number, inactive: number): number {
  return inactive < usage ? usage - inactive : usage;
}

/**
 * Writes each value to one cgroup file by its own write(2), as a file of rules (v1's
 * devices.allow) takes them, through one open file: a start writes a dozen device rules.
 */
export function writeLimits(dir: string, file: string, values: string[]): void {
  const fd = fs.openSync(path.join(dir, file), 'w');
  try {
    for (const value of values) {
      try {
        fs.writeSync(fd, value);
      } catch (err) {
        throw new BoxError(`the kernel refused ${file} = ${value} (${errnoCode(err) ?? (err as Error).message})`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes one cgroup file; a value the kernel refuses becomes an error naming file and value. */
export function writeLimit(dir: string, file: string, value: string | number): void {
  try {
    fs.writeFileSync(path.join(dir, file), String(value));
  } catch (err) {
    throw new BoxError(`the kernel refused ${file} = ${value} (${errnoCode(err) ?? (err as Error).message})`);
  }
}

/**
 * Creates root/relPath level by level. `ensure(dir, parent)` runs for each level (new or already
 * there), and `before(parent)` before each mkdir. A parent removed concurrently by another
 * container's cleanup (ENOENT) makes the walk start over.
 */
export function createLevels(
  root: string,
  relPath: string,
  ensure?: (dir: string, parent: string) => void,
  before?: (parent: string) => void,
): void {
  for (let attempt = 0; ; attempt++) {
    try {
      let dir = root;
      for (const part of relPath.split('/')) {
        const parent = dir;
        dir = path.join(dir, part);
        before?.(parent);
        mkdirIfMissing(dir);
        ensure?.(dir, parent);
      }
      return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 10) throw err;
    }
  }
}

function mkdirIfMissing(dir: string): boolean {
  try {
    fs.mkdirSync(dir);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
}
