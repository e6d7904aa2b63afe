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
  if (!/^\d+$/.test(value.trim())) throw new BoxError(`invalid value "${value}" for ${flag}: expected a non-negative integer`);
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
  const ok = value.split(',').every((part) => /^\d+(-\d+)?$/.test(part) && (!part.includes('-') || Number(part.split('-')[0]) <= Number(part.split('-')[1])));
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

/** "10s", "1m30s", "500ms", "2h" → milliseconds (Go duration subset, as Docker accepts). */
export function parseDuration(flag: string, value: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const scale: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    total += Number(m[1]) * scale[m[2]];
    matched = re.lastIndex;
  }
  if (!value || matched !== value.length) {
    throw new BoxError(`invalid value "${value}" for ${flag}: expected a duration like 30s, 1m or 500ms`);
  }
  return total;
}
