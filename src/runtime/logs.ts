// Reading a detached container's log: JSON lines in Docker's json-file format written by its
// monitor (native/PROTOCOL.md), rotated into FILE.1, FILE.2, ... (oldest last).
import * as fs from 'node:fs';
import { BoxError } from '../errors';

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

/** Every entry of the log and its rotated files, oldest first. */
export function readLog(file: string): { entries: LogEntry[]; offset: number } {
  const files: string[] = [];
  for (let i = 1; fs.existsSync(`${file}.${i}`); i++) files.unshift(`${file}.${i}`);
  let entries: LogEntry[] = [];
  for (const f of files) entries = entries.concat(parseLines(fs.readFileSync(f, 'utf8')));
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    /* no output yet */
  }
  const complete = text.lastIndexOf('\n') + 1;
  return { entries: entries.concat(parseLines(text.slice(0, complete))), offset: Buffer.byteLength(text.slice(0, complete)) };
}

export function select(entries: LogEntry[], q: LogQuery): LogEntry[] {
  let out = entries.filter((e) => {
    const t = Date.parse(e.time);
    return (q.since === undefined || t >= q.since) && (q.until === undefined || t < q.until);
  });
  if (q.tail !== undefined) out = q.tail === 0 ? [] : out.slice(-q.tail);
  return out;
}

/** New complete lines written to `file` after `offset`; a rotation restarts from the beginning. */
export function readFrom(file: string, offset: number): { entries: LogEntry[]; offset: number } {
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    return { entries: [], offset: 0 };
  }
  if (size < offset) offset = 0; // rotated
  if (size === offset) return { entries: [], offset };
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    const complete = buf.lastIndexOf(0x0a) + 1;
    return { entries: parseLines(buf.subarray(0, complete).toString('utf8')), offset: offset + complete };
  } finally {
    fs.closeSync(fd);
  }
}

/** --since/--until: RFC 3339 times, Unix seconds, or a duration before now ("10m", "1h30m"). */
export function parseTimeArg(flag: string, value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (d) return now - Number(d[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[d[2] as 'ms' | 's' | 'm' | 'h'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new BoxError(`invalid value "${value}" for ${flag}: use a time like 2026-01-02T15:04:05Z, Unix seconds, or a duration like 10m`);
  return t;
}
