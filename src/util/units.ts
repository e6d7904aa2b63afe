// Parsers for the value syntaxes Docker's flags accept. Each throws a BoxError naming the flag,
// the bad value and the expected form, so the CLI can print it as one line.
import { BoxError } from '../errors';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "256m", "1g", "1024", "512k", "1.5g" → bytes. */
export function parseBytes(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw new BoxError(`invalid value "${value}" for ${flag}: expected a size like 512k, 256m or 1g`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new BoxError(`invalid value "${value}" for ${flag}: too large`);
  return bytes;
}

export function parseNonNegativeInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new BoxError(`invalid value "${value}" for ${flag}: expected a non-negative integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new BoxError(`invalid value "${value}" for ${flag}: too large`);
  return n;
}

export function parseInteger(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new BoxError(`invalid value "${value}" for ${flag}: expected an integer`);
  return Number(value);
}

/** "--cpus 1.5" → 1.5; must be > 0. */
export function parseCpus(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n > 0)) {
    throw new BoxError(`invalid value "${value}" for ${flag}: expected a positive number of CPUs like 0.5 or 2`);
  }
  return n;
}

/** "0-3,5" style CPU/memory-node lists. */
export function parseCpuList(flag: string, value: string): string {
  const ok = value
    .split(',')
    .every(
      (part) =>
        /^\d+(-\d+)?$/.test(part) && (!part.includes('-') || Number(part.split('-')[0]) <= Number(part.split('-')[1])),
    );
  if (!value || !ok) throw new BoxError(`invalid value "${value}" for ${flag}: expected a CPU list like 0-2,4`);
  return value;
}

export function expandCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

// Go's time.ParseDuration units (Docker parses every duration flag with it); µ is U+00B5, μ U+03BC.
const DURATION_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
/** Go's time.Duration is an int64 of nanoseconds (about 292 years). */
const MAX_DURATION_NS = 2 ** 63 - 1;

/**
 * A duration as Docker's flags take it (Go's syntax: "1m30s", "1.5h", ".5s", "300ms", "0"), in
 * nanoseconds; undefined when the text is not one. A leading + is accepted and - refused: no flag
 * of box takes a negative duration.
 */
export function durationNs(value: string): number | undefined {
  const body = value.startsWith('+') ? value.slice(1) : value;
  if (body === '0') return 0;
  // µ and μ escaped: one non-ASCII character left in the bundle makes V8 hold all of its source as
  // two-byte text (build/build.mjs refuses such a bundle)
  const part = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;
  let total = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(body)) !== null) {
    total += Number(m[1]) * DURATION_UNITS_NS[m[2]];
    if (part.lastIndex === body.length) return total > MAX_DURATION_NS ? undefined : Math.round(total);
  }
  return undefined;
}

/** A duration flag's value in nanoseconds (durationNs), or a BoxError naming the flag. */
export function parseDurationNs(flag: string, value: string): number {
  const ns = durationNs(value);
  if (ns !== undefined) return ns;
  const why = value.startsWith('-') ? 'a duration cannot be negative' : 'expected a duration like 30s, 1m30s or 500ms';
  throw new BoxError(`invalid value "${value}" for ${flag}: ${why}`);
}

/** A duration flag's value in milliseconds (parseDurationNs). */
export function parseDuration(flag: string, value: string): number {
  return parseDurationNs(flag, value) / 1e6;
}

/** Bytes as Docker prints sizes: 1000-based units, three significant digits (12.3MB). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}
