// Reading a detached container's log: JSON lines in Docker's json-file format written by its
// monitor (native/PROTOCOL.md), rotated into FILE.1, FILE.2, ... (oldest last).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { durationNs } from '../util/units';
import { openNoFollow } from '../util/safe-open';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  time: string;
  log: string;
}

export interface LogQuery {
  tail?: number;
  since?: number; // ms since epoch
  until?: number;
}

function parseLines(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as LogEntry;
      if (typeof e.log === 'string') out.push(e);
    } catch {
      /* a line being written right now: the next read sees it whole */
    }
  }
  return out;
}

/**
 * Where a reader of the log got to: the file it was reading (by inode, so a rotation that renamed
 * it away is noticed) and the end of the last complete line it read.
 */
export interface LogCursor {
  ino: number;
  offset: number;
}

/** The rotated files FILE.N ... FILE.1 that exist, oldest first. */
/**
 * FILE.N oldest first, from one listing of the directory: probing FILE.1, FILE.2, ... in turn
 * stopped at the gap a rotation opens for a moment (FILE.1 renamed to FILE.2, FILE not yet to
 * FILE.1), and a follower then skipped a whole rotated file. One getdents of this small directory
 * is not interleaved with a rename in it.
 */
function rotatedFiles(file: string): string[] {
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file));
  } catch {
    return [];
  }
  const numbered = names
    .map((n) => (n.startsWith(`${base}.`) ? /^\d+$/.exec(n.slice(base.length + 1)) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[0]))
    .filter((i) => i >= 1);
  return numbered.sort((a, b) => b - a).map((i) => `${file}.${i}`);
}

function inodeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

function openLog(file: string): number | undefined {
  try {
    return openNoFollow(file, fs.constants.O_RDONLY);
  } catch (err) {
    if (err instanceof BoxError) throw err; // a symlink in place of the log
    return undefined; // no output yet, or rotated away this instant
  }
}

/** The complete lines of an open log file after `offset`, and where they end. */
function readComplete(fd: number, offset: number): { entries: LogEntry[]; offset: number } {
  const size = fs.fstatSync(fd).size;
  if (size <= offset) return { entries: [], offset };
  const buf = Buffer.alloc(size - offset);
  const n = fs.readSync(fd, buf, 0, buf.length, offset);
  const complete = buf.subarray(0, n).lastIndexOf(0x0a) + 1;
  return { entries: parseLines(buf.subarray(0, complete).toString('utf8')), offset: offset + complete };
}

function readFile(file: string, offset: number): LogEntry[] {
  const fd = openLog(file);
  if (fd === undefined) return [];
  try {
    return readComplete(fd, offset).entries;
  } finally {
    fs.closeSync(fd);
  }
}

/** Every entry of the log and its rotated files, oldest first, and where a follower goes on. */
export function readLog(file: string): { entries: LogEntry[]; cursor: LogCursor } {
  // The current file first: if it is rotated while the others are read, it is not read twice.
  const fd = openLog(file);
  const ino = fd === undefined ? 0 : fs.fstatSync(fd).ino;
  const entries = rotatedFiles(file)
    .filter((f) => inodeOf(f) !== ino)
    .flatMap((f) => readFile(f, 0));
  if (fd === undefined) return { entries, cursor: { ino, offset: 0 } };
  try {
    const got = readComplete(fd, 0);
    return { entries: entries.concat(got.entries), cursor: { ino, offset: got.offset } };
  } finally {
    fs.closeSync(fd);
  }
}

/** Where the log ends now: a follower from here sees only what is written later. */
export function logEnd(file: string): LogCursor {
  try {
    const st = fs.statSync(file);
    return { ino: st.ino, offset: st.size };
  } catch {
    return { ino: 0, offset: 0 };
  }
}

export function select(entries: LogEntry[], q: LogQuery): LogEntry[] {
  let out = entries.filter((e) => {
    const t = Date.parse(e.time);
    return (q.since === undefined || t >= q.since) && (q.until === undefined || t < q.until);
  });
  if (q.tail !== undefined) out = q.tail === 0 ? [] : out.slice(-q.tail);
  return out;
}

/**
 * New complete lines written after the cursor. If the file was rotated meanwhile, the rest of the
 * one the cursor was in (now FILE.1, or older) comes first, then any newer rotated ones, then the
 * new FILE: nothing is lost unless it was rotated out of the last FILE.N before it was read.
 */
export function readFrom(file: string, cursor: LogCursor): { entries: LogEntry[]; cursor: LogCursor } {
  const fd = openLog(file);
  if (fd === undefined) return { entries: [], cursor };
  try {
    const st = fs.fstatSync(fd);
    let entries: LogEntry[] = [];
    let offset = cursor.offset;
    if (st.ino !== cursor.ino) {
      const rotated = rotatedFiles(file);
      const at = rotated.findIndex((f) => inodeOf(f) === cursor.ino);
      // The file open as FILE may have been rotated just now too: it is read below, through fd.
      const between = rotated.slice(at).filter((f, i) => i === 0 || inodeOf(f) !== st.ino);
      if (at >= 0) entries = between.flatMap((f, i) => readFile(f, i === 0 ? cursor.offset : 0));
      offset = 0;
    } else if (st.size < offset) {
      offset = 0; // truncated (max-file 1)
    }
    const got = readComplete(fd, offset);
    return { entries: entries.concat(got.entries), cursor: { ino: st.ino, offset: got.offset } };
  } finally {
    fs.closeSync(fd);
  }
}

/** --since/--until: RFC 3339 times, Unix seconds, or a duration before now ("10m", "1h30m"). */
export function parseTimeArg(flag: string, value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const ns = durationNs(value);
  if (ns !== undefined) return now - ns / 1e6;
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new BoxError(
      `invalid value "${value}" for ${flag}: use a time like 2026-01-02T15:04:05Z, Unix seconds, or a duration like 10m`,
    );
  return t;
}
