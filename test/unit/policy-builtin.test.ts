// The built-in policies (C, policies/builtin/*.c), built by build/policies.mjs into a temporary
// directory, against their cases (policies/builtin/cases/*.json) through the engine and
// `box policy test`'s logic; and what they are for: small components that import nothing and
// cost next to nothing to load and run. The timings are printed, not asserted beyond a sanity
// bound (the machine is shared).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_POLICIES, buildPolicies } from '../../build/policies.mjs';
import { inspectPolicy, readCases, requestFromFragment, testPolicy, toJson } from '../../src/policy/commands';
import { loadPolicy } from '../../src/policy/load';
import { emptyRequest } from '../../src/policy/request';
import { readsCommitted } from '../../src/policy/sources';

const CASES = path.join(__dirname, '..', '..', 'policies', 'builtin', 'cases');
let tmp: string;
let outDir: string;
let manifest: Record<string, { sha256: string; size: number }>;
let buildMs: number;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-builtin-'));
  outDir = path.join(tmp, 'policies');
  const t = performance.now();
  const r = await buildPolicies({ outDir, stateDir: path.join(tmp, 'state'), force: true, log: () => {} });
  buildMs = performance.now() - t;
  manifest = r.manifest;
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const wasm = (name: string) => path.join(outDir, `${name}.wasm`);

it('builds the three built-ins from scratch, then finds them up to date', async () => {
  expect(BUILTIN_POLICIES).toEqual(['baseline', 'strict', 'capacity']);
  process.stdout.write(`built-in policies: build from scratch ${Math.round(buildMs)} ms\n`);
  const lines: string[] = [];
  const again = await buildPolicies({
    outDir,
    stateDir: path.join(tmp, 'state'),
    force: false,
    log: (s) => lines.push(s),
  });
  expect(again.built).toEqual([]);
  expect(lines).toEqual(BUILTIN_POLICIES.map((n) => `build: policy ${n} up to date\n`));
  const written = JSON.parse(fs.readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as typeof manifest;
  expect(written).toEqual(manifest);
  for (const name of BUILTIN_POLICIES) expect(written[name].size).toBe(fs.statSync(wasm(name)).size);
});

describe.each(BUILTIN_POLICIES)('built-in policy %s', (name) => {
  it('passes its cases', async () => {
    const results = await testPolicy(wasm(name), path.join(CASES, `${name}.json`), {
      cacheDir: path.join(tmp, 'cache'),
      name,
    });
    expect(results.length).toBeGreaterThan(2);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join('; ')}`)).toEqual([]);
  });

  it('describes itself', async () => {
    const r = await inspectPolicy(wasm(name), { cacheDir: path.join(tmp, 'cache'), name });
    expect(r.info.name).toBe(name);
    expect(r.info.version).toBe('0.1.0');
    expect(r.info.arguments.length).toBe({ strict: 7, baseline: 5, capacity: 3 }[name]);
    expect(r.world).toBe('box:policy/admission@0.2.0');
    expect(r.imports).toEqual([]);
    expect(r.sha256).toBe(manifest[name].sha256);
  });

  // A start judged only by policies blind to committed resources takes no admission lock and
  // reads no record (src/policy/admission.ts): each of its cases decides the same whatever the
  // host has committed, and capacity, which reads them, decides otherwise on a full host.
  it(`${readsCommitted(name) ? 'reads' : 'never reads'} what other containers have committed`, async () => {
    const policy = await loadPolicy({ path: wasm(name) }, { cacheDir: path.join(tmp, 'cache'), name });
    const full = {
      containers: 500,
      memory: 1n << 50n,
      unlimitedMemory: 7,
      millicpus: 1n << 40n,
      unlimitedCpu: 7,
      pids: 1n << 40n,
    };
    const differing = readCases(path.join(CASES, `${name}.json`)).filter((c) => {
      const request = requestFromFragment(c.request ?? {});
      if (c.args)
        request.args = Array.isArray(c.args) ? c.args : Object.entries(c.args).map(([k, v]) => [k, String(v)]);
      const before = toJson(policy.evaluate(request).verdict);
      request.host.committed = full;
      return toJson(policy.evaluate(request).verdict) !== before;
    });
    if (readsCommitted(name)) expect(differing.length).toBeGreaterThan(0);
    else expect(differing.map((c) => c.name)).toEqual([]);
  });

  it('is small, imports nothing, and loads and evaluates in about a millisecond', async () => {
    expect(manifest[name].size).toBeLessThan(256 * 1024);
    const cacheDir = path.join(tmp, `timing-${name}`); // a cold cache: this load transpiles
    const cold = await loadPolicy({ path: wasm(name) }, { cacheDir, name });
    expect(cold.imports).toEqual([]);
    const first = cold.evaluate(emptyRequest());
    expect(first.failure).toBeUndefined();
    const second = cold.evaluate(emptyRequest());
    expect(second.instantiateMs).toBe(0); // the instance is reused

    // what a container start pays: a cache hit by known digest, one instantiation, one evaluation
    const t = performance.now();
    const warm = await loadPolicy({ path: wasm(name) }, { cacheDir, name, knownDigest: manifest[name].sha256 });
    const loadMs = performance.now() - t;
    expect(warm.timings.cacheHit).toBe(true);
    const e = warm.evaluate(emptyRequest());
    expect(e.failure).toBeUndefined();
    expect(e.verdict).toEqual(first.verdict);

    const ms = (n: number) => n.toFixed(2);
    process.stdout.write(
      `built-in policy ${name}: ${(manifest[name].size / 1024).toFixed(1)} KiB; cold: transpile ${ms(cold.timings.transpileMs)} ms, ` +
        `compile ${ms(cold.timings.compileMs)} ms, instantiate ${ms(first.instantiateMs)} ms, first evaluate ${ms(first.evaluateMs)} ms, ` +
        `next evaluate ${ms(second.evaluateMs)} ms; cache hit: load ${ms(loadMs)} ms, instantiate ${ms(e.instantiateMs)} ms, ` +
        `evaluate ${ms(e.evaluateMs)} ms\n`,
    );
    // sanity only (the componentize-js built-ins took 60-90 ms to instantiate)
    expect(e.instantiateMs + e.evaluateMs).toBeLessThan(50);
  });
});
