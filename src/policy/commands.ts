// The logic of `box policy inspect|eval|test`, as functions for the CLI to call and print.
import { BoxError } from '../errors';
import { readUserText } from '../util/user-file';
import { LoadOptions, Policy } from './engine';
import { loadPolicy } from './load';
import { emptyRequest } from './request';
import type { PolicyInfo, PolicyRequest, PolicyVerdict } from './types';

export interface InspectResult {
  file: string;
  name: string;
  size: number;
  sha256: string;
  world: string;
  witVersion: string;
  imports: string[];
  exports: string[];
  info: PolicyInfo;
  timings: Policy['timings'];
}

export async function inspectPolicy(file: string, opts: LoadOptions): Promise<InspectResult> {
  const p = await loadPolicy({ path: file }, opts);
  return {
    file,
    name: p.name,
    size: p.size,
    sha256: p.digest,
    world: p.exportName,
    witVersion: p.witVersion,
    imports: p.imports,
    exports: p.exports.map(([n]) => n),
    info: p.describe(),
    timings: p.timings,
  };
}

/**
 * JSON request fragments use plain JSON numbers for 64-bit fields; they are merged over a
 * complete default request (emptyRequest) and the fields the WIT types as u64/s64 become bigint.
 */
const BIGINT_FIELDS = new Set([
  'memory',
  'memorySwap',
  'memoryReservation',
  'cpuQuota',
  'cpuPeriod',
  'cpuShares',
  'pidsLimit',
  'soft',
  'hard',
  'memoryTotal',
  'millicpus',
  'pids',
]);

/** Items of these lists are merged over a default item, so that a case names only what it is about. */
const LIST_ITEM_DEFAULTS: Record<string, unknown> = {
  networks: { name: '', driver: 'bridge', internal: false, aliases: [] },
};

function merge(base: unknown, over: unknown, key = ''): unknown {
  if (over === null || over === undefined) return base;
  if (Array.isArray(over)) return over.map((v) => merge(LIST_ITEM_DEFAULTS[key], v, key));
  if (typeof over === 'object') {
    const out: Record<string, unknown> = { ...((typeof base === 'object' && base) || {}) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = merge(out[k], v, k);
    return out;
  }
  if (BIGINT_FIELDS.has(key) && (typeof over === 'number' || typeof over === 'string')) return BigInt(over);
  return over;
}

export function requestFromFragment(fragment: unknown): PolicyRequest {
  return merge(emptyRequest(), fragment) as PolicyRequest;
}

/** JSON with bigint values written as numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2);
}

export interface EvalResult {
  verdict: PolicyVerdict;
  failure?: { kind: string; message: string };
  evaluateMs: number;
  instantiateMs: number;
}

const REQUEST_FILE_MAX = 4 << 20;
const CASES_FILE_MAX = 16 << 20;

/** A request fragment (JSON) from a file, or standard input for "-". */
export function readRequestFragment(file: string): unknown {
  const hint = 'give a JSON request fragment';
  const text = readUserText(file, { what: '--request', maxBytes: REQUEST_FILE_MAX, hint, stdin: true });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BoxError(`--request ${file}: ${(err as Error).message}`);
  }
}

export async function evalPolicy(
  file: string,
  requestFile: string | undefined,
  args: Array<[string, string]>,
  opts: LoadOptions,
): Promise<EvalResult> {
  const fragment = requestFile ? readRequestFragment(requestFile) : {};
  const req = requestFromFragment(fragment);
  if (args.length) req.args = args;
  const p = await loadPolicy({ path: file }, opts);
  return p.evaluate(req);
}

export interface PolicyCase {
  name?: string;
  request?: unknown;
  args?: Array<[string, string]> | Record<string, string>;
  expect: {
    decision: 'allow' | 'deny';
    reasons?: string[];
    reasonsMatch?: string[];
    warningsMatch?: string[];
    patch?: unknown;
  };
}

export interface CaseResult {
  name: string;
  ok: boolean;
  problems: string[];
  verdict: PolicyVerdict;
}

/** Reads a cases file: YAML or JSON (`cases:` list, see runCases). */
export function readCases(casesFile: string): PolicyCase[] {
  let doc: { cases?: PolicyCase[] };
  try {
    const hint = 'see box policy test --help';
    const text = readUserText(casesFile, { what: 'cases file', maxBytes: CASES_FILE_MAX, hint });
    // JSON is YAML too, but JSON's own parser gives better messages for .json files.
    doc = (/\.json$/i.test(casesFile) ? JSON.parse(text) : (require('yaml') as typeof import('yaml')).parse(text)) as {
      cases?: PolicyCase[];
    };
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`${casesFile}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || !Array.isArray(doc.cases))
    throw new BoxError(`${casesFile}: no "cases" list: see box policy test --help`);
  return doc.cases;
}

/**
 * Runs test cases against a policy. The cases file is YAML or JSON: `cases:` a list of `{ name,
 * request (fragment), args ([[k, v]] or {k: v}), expect: { decision, reasons (exact) |
 * reasonsMatch (substrings), warningsMatch, patch (fragment: every given field must match) } }`.
 */
export function runCases(p: Policy, cases: PolicyCase[]): CaseResult[] {
  return cases.map((c, i) => {
    const name = c.name ?? `case ${i + 1}`;
    const req = requestFromFragment(c.request ?? {});
    if (c.args) req.args = Array.isArray(c.args) ? c.args : Object.entries(c.args).map(([k, v]) => [k, String(v)]);
    const { verdict, failure } = p.evaluate(req);
    const problems: string[] = [];
    if (failure) problems.push(`policy failed: ${failure.message}`);
    if (verdict.decision !== c.expect.decision)
      problems.push(`decision ${verdict.decision}, expected ${c.expect.decision} (${verdict.reasons.join('; ')})`);
    if (c.expect.reasons && toJson(verdict.reasons) !== toJson(c.expect.reasons))
      problems.push(`reasons ${toJson(verdict.reasons)}, expected ${toJson(c.expect.reasons)}`);
    for (const s of c.expect.reasonsMatch ?? [])
      if (!verdict.reasons.some((r) => r.includes(s))) problems.push(`no reason mentions ${JSON.stringify(s)}`);
    for (const s of c.expect.warningsMatch ?? [])
      if (!verdict.warnings.some((r) => r.includes(s))) problems.push(`no warning mentions ${JSON.stringify(s)}`);
    if (c.expect.patch !== undefined) {
      const want = JSON.parse(toJson(c.expect.patch)) as Record<string, unknown>;
      const got = JSON.parse(toJson(verdict.patch ?? null)) as Record<string, unknown> | null;
      // Every field given must match; null matches an absent field.
      const sub = (w: unknown, g: unknown): boolean =>
        w === null
          ? g === null || g === undefined
          : typeof w === 'object' && !Array.isArray(w)
            ? typeof g === 'object' &&
              g !== null &&
              Object.entries(w).every(([k, v]) => sub(v, (g as Record<string, unknown>)[k]))
            : JSON.stringify(w) === JSON.stringify(g);
      if (!sub(want, got)) problems.push(`patch ${toJson(verdict.patch)}, expected ${toJson(c.expect.patch)}`);
    }
    return { name, ok: problems.length === 0, problems, verdict };
  });
}

export async function testPolicy(file: string, casesFile: string, opts: LoadOptions): Promise<CaseResult[]> {
  const cases = readCases(casesFile); // a bad cases file is reported before the policy is loaded
  const p = await loadPolicy({ path: file }, opts);
  return runCases(p, cases);
}
