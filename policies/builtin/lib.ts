// Helpers shared by the built-in policies (bundled into each component by esbuild).
import type { Pair, PolicyRequest } from '../../src/policy/types';

export function arg(req: PolicyRequest, key: string): string | undefined {
  let value: string | undefined;
  for (const [k, v] of req.args as Pair[]) if (k === key) value = v; // the last one wins
  return value;
}

const UNITS: Record<string, bigint> = { '': 1n, b: 1n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n, t: 1024n ** 4n };

/** "512m", "2g", "1048576" → bytes; undefined when malformed. */
export function parseBytes(s: string): bigint | undefined {
  const m = /^(\d+)([bkmgt]?)i?b?$/i.exec(s.trim());
  return m ? BigInt(m[1]) * UNITS[m[2].toLowerCase()] : undefined;
}

export function bytesArg(req: PolicyRequest, key: string, fallback: bigint, reasons: string[]): bigint {
  const v = arg(req, key);
  if (v === undefined) return fallback;
  const n = parseBytes(v);
  if (n === undefined) reasons.push(`policy argument ${key}=${v} is not a size (e.g. 512m, 2g)`);
  return n ?? fallback;
}

export function numberArg(req: PolicyRequest, key: string, fallback: number, reasons: string[]): number {
  const v = arg(req, key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) reasons.push(`policy argument ${key}=${v} is not a non-negative number`);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function mib(n: bigint): string {
  return n % (1024n ** 3n) === 0n ? `${n / 1024n ** 3n} GiB` : `${Number((n * 10n) / 1024n ** 2n) / 10} MiB`;
}

/** Lexically normalised absolute path ("/a/./b/../c/" → "/a/c"). */
export function normalise(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/** Is `p` equal to or inside `dir`? */
export function within(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}

/** Thousandths of a cpu the container may use; undefined = unlimited. */
export function millicpus(req: PolicyRequest): bigint | undefined {
  const r = req.container.resources;
  if (r.cpuQuota === undefined || r.cpuQuota <= 0n) return undefined;
  const period = r.cpuPeriod ?? 100000n;
  return (r.cpuQuota * 1000n + period - 1n) / period;
}

/** Registry host of an image reference (Docker's rules: the first component if it has a dot or a port, or is localhost). */
export function registryOf(reference: string): string {
  const slash = reference.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
