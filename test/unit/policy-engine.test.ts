// The policy engine against real components built here (componentize-js, cached by content;
// see test/support/policy-components.ts): allow, deny, patch; the hostile ones (loop, unbounded
// allocation, stack overflow, throw, WASI imports, a core module, a different world, another
// version, a truncated file), each refused with its reason and within its limits.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheStats } from '../../src/policy/cache';
import { Policy, PolicyLoadError } from '../../src/policy/engine';
import { loadPolicy } from '../../src/policy/load';
import { emptyRequest } from '../../src/policy/request';
import type { PolicyRequest } from '../../src/policy/types';
import { component, FIXTURES } from '../support/policy-components';

let tmp: string;
let behavioursWasm: string;
let wasiWasm: string;
let policy: Policy;

function request(name: string, edit: (r: PolicyRequest) => void = () => {}): PolicyRequest {
  const r = emptyRequest();
  r.container.name = name;
  r.container.user = { spec: '1000', uid: 1000, gid: 1000, additionalGids: [] };
  edit(r);
  return r;
}

async function watToComponent(wat: string): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
  return tools.parse(wat);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-test-'));
  // One build at a time: each is ~12 s of CPU on a 2-core machine.
  behavioursWasm = await component(path.join(FIXTURES, 'behaviours.ts'));
  wasiWasm = await component(path.join(FIXTURES, 'behaviours.ts'), { enableFeatures: ['stdio', 'clocks', 'random'] });
  policy = await loadPolicy({ path: behavioursWasm }, { name: 'behaviours', cacheDir: path.join(tmp, 'cache') });
}, 240_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a well-behaved policy', () => {
  it('is loaded with its world, no imports, and describes itself', () => {
    expect(policy.exportName).toBe('box:policy/admission@0.2.0');
    expect(policy.imports).toEqual([]);
    expect(policy.describe()).toEqual({
      name: 'behaviours',
      version: '1.0.0',
      description: 'test policy',
      arguments: [{ name: 'echo', description: 'copied to a warning' }],
    });
  });

  it('allows, passing the arguments through', () => {
    const e = policy.evaluate(
      request(
        'ok',
        (r) =>
          (r.args = [
            ['echo', 'hi'],
            ['echo', 'again'],
          ]),
      ),
    );
    expect(e.failure).toBeUndefined();
    expect(e.verdict).toEqual({
      decision: 'allow',
      reasons: [],
      warnings: ['arg echo=hi', 'arg echo=again'],
      patch: undefined,
    });
  });

  it('denies with every reason', () => {
    const e = policy.evaluate(
      request('bad', (r) => {
        r.container.security.privileged = true;
        r.container.user.uid = 0;
      }),
    );
    expect(e.verdict.decision).toBe('deny');
    expect(e.verdict.reasons).toEqual(['privileged containers are not allowed', 'runs as root']);
  });

  it('returns a patch with typed values', () => {
    const e = policy.evaluate(request('patch'));
    expect(e.verdict.decision).toBe('allow');
    expect(e.verdict.patch).toEqual({
      limits: {
        memory: 64n * 1024n * 1024n,
        memorySwap: undefined,
        memoryReservation: undefined,
        cpuQuota: undefined,
        cpuPeriod: undefined,
        cpuShares: undefined,
        cpusetCpus: undefined,
        pidsLimit: 100n,
        ulimits: [],
      },
      dropCapabilities: ['NET_RAW'],
      readOnlyMounts: ['/data'],
      readOnlyRootfs: true,
      noNewPrivileges: true,
      addEnv: [['POLICY', 'behaviours']],
      addLabels: [['policy', 'behaviours']],
      network: 'disconnect',
    });
  });

  it('sees 64-bit numbers, options, variants and lists as sent', () => {
    const e = policy.evaluate(
      request('echo', (r) => {
        r.host.memoryTotal = (1n << 40n) + 7n;
        r.container.resources.memory = 12345678901n;
        r.container.network.mode = { tag: 'bridge', val: 'bridge' };
        r.container.security.capabilities = ['CHOWN', 'KILL'];
      }),
    );
    expect(e.verdict.reasons.slice(0, 4)).toEqual([
      `memoryTotal=${(1n << 40n) + 7n}`,
      'memory=12345678901',
      'network=bridge',
      'caps=CHOWN,KILL',
    ]);
  });

  it('decides 50 concurrent evaluations correctly', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        Promise.resolve().then(() =>
          policy.evaluate(request(i % 2 ? 'ok' : 'bad', (r) => (r.container.security.privileged = i % 2 === 0))),
        ),
      ),
    );
    for (const [i, e] of results.entries()) expect(e.verdict.decision).toBe(i % 2 ? 'allow' : 'deny');
  });
});

describe('hostile policies are stopped and refused (fail-closed)', () => {
  it('a policy looping forever is stopped at the time limit', async () => {
    const p = await loadPolicy(
      { path: behavioursWasm },
      { name: 'behaviours', cacheDir: path.join(tmp, 'cache'), limits: { timeoutMs: 200 } },
    );
    const t = performance.now();
    const e = p.evaluate(request('loop'));
    const elapsed = performance.now() - t;
    expect(e.failure?.kind).toBe('timeout');
    expect(e.verdict).toEqual({
      decision: 'deny',
      reasons: ['policy behaviours exceeded its time limit of 200 ms'],
      warnings: [],
    });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1500);
    // The instance was discarded; the next evaluation works on a fresh one.
    expect(p.evaluate(request('ok')).verdict.decision).toBe('allow');
  });

  it('a policy allocating without bound is stopped at the memory limit', async () => {
    const p = await loadPolicy(
      { path: behavioursWasm },
      {
        name: 'behaviours',
        cacheDir: path.join(tmp, 'cache'),
        limits: { memoryBytes: 64 * 1024 * 1024, timeoutMs: 5000 },
      },
    );
    const before = process.memoryUsage().rss;
    const e = p.evaluate(request('alloc'));
    expect(e.failure?.kind).toBe('memory');
    expect(e.verdict.decision).toBe('deny');
    expect(e.verdict.reasons[0]).toMatch(/^policy behaviours exceeded its memory limit of 64 MiB/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('a policy overflowing its stack is refused', () => {
    const e = policy.evaluate(request('recurse'));
    expect(e.failure?.kind).toBe('trap');
    expect(e.verdict.decision).toBe('deny');
    expect(e.verdict.reasons[0]).toMatch(/^policy behaviours trapped: /);
  });

  it('a policy throwing is refused', () => {
    const e = policy.evaluate(request('throw'));
    expect(e.failure?.kind).toBe('trap');
    expect(e.verdict.reasons[0]).toMatch(/^policy behaviours trapped: .*unreachable/);
    expect(policy.evaluate(request('ok')).verdict.decision).toBe('allow');
  });

  it('a component importing WASI interfaces is refused at load with the list of imports', async () => {
    const err = await loadPolicy({ path: wasiWasm }, { cacheDir: path.join(tmp, 'cache') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyLoadError);
    expect((err as Error).message).toMatch(
      /imports .*wasi:cli\/stdout, .*wasi:filesystem\/types, .*wasi:random\/random: a policy must import nothing/,
    );
  });

  it('a core module is refused as not a component', async () => {
    const core = path.join(tmp, 'core.wasm');
    fs.writeFileSync(core, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    await expect(loadPolicy({ path: core }, { cacheDir: path.join(tmp, 'cache') })).rejects.toThrow(
      /is a core WebAssembly module \(version 1\), not a component/,
    );
  });

  it('a component of another world is refused', async () => {
    const file = path.join(tmp, 'other.wasm');
    fs.writeFileSync(
      file,
      await watToComponent(`(component
        (core module $m (func (export "f") (result i32) i32.const 42))
        (core instance $i (instantiate $m))
        (func $f (result u32) (canon lift (core func $i "f")))
        (instance $inst (export "run" (func $f)))
        (export "other:thing/runner@1.0.0" (instance $inst)))`),
    );
    await expect(loadPolicy({ path: file }, { cacheDir: path.join(tmp, 'cache') })).rejects.toThrow(
      /does not export box's policy world \(box:policy\/admission@0\.2\.0\); it exports other:thing\/runner@1\.0\.0/,
    );
  });

  it('a component for an incompatible version of the world is refused', async () => {
    const file = path.join(tmp, 'v3.wasm');
    fs.writeFileSync(
      file,
      await watToComponent(`(component
        (core module $m (func (export "f") (result i32) i32.const 1))
        (core instance $i (instantiate $m))
        (func $f (result u32) (canon lift (core func $i "f")))
        (instance $inst (export "evaluate" (func $f)))
        (export "box:policy/admission@0.3.0" (instance $inst)))`),
    );
    await expect(loadPolicy({ path: file }, { cacheDir: path.join(tmp, 'cache') })).rejects.toThrow(
      /targets box:policy@0\.3\.0, which this box does not support: it supports box:policy@0\.2\.0 and box:policy@0\.1\.0/,
    );
  });

  it('a truncated component is refused as truncated', async () => {
    const bytes = fs.readFileSync(behavioursWasm);
    const file = path.join(tmp, 'truncated.wasm');
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(loadPolicy({ path: file }, { cacheDir: path.join(tmp, 'cache') })).rejects.toThrow(
      /is truncated: section \d+ at byte \d+ needs \d+ bytes, but the file ends at byte \d+/,
    );
  });
});

describe('the transpile cache', () => {
  it('is written once for concurrent loads in one process, and reused', async () => {
    const cacheDir = path.join(tmp, 'cache-concurrent');
    const before = cacheStats.transpiles;
    const loaded = await Promise.all(
      Array.from({ length: 10 }, () => loadPolicy({ path: behavioursWasm }, { cacheDir })),
    );
    expect(cacheStats.transpiles - before).toBe(1);
    expect(loaded.filter((p) => !p.timings.cacheHit)).toHaveLength(10); // all were served by that one transpile
    const again = await loadPolicy({ path: behavioursWasm }, { cacheDir });
    expect(again.timings.cacheHit).toBe(true);
    expect(cacheStats.transpiles - before).toBe(1);
    expect(fs.readdirSync(cacheDir).filter((f) => !f.endsWith('.lock'))).toHaveLength(1);
  });

  it('is written once when several processes load the same policy at once', async () => {
    const cacheDir = path.join(tmp, 'cache-processes');
    // Inside the project, so that the runner's import() of ES-module packages finds node_modules.
    const runnerDir = fs.mkdtempSync(path.join(__dirname, '..', '..', 'node_modules', '.box-test-'));
    const runner = path.join(runnerDir, 'load-runner.cjs');
    await esbuild.build({
      stdin: {
        contents: `const { loadPolicy } = require('./src/policy/load');
          const { cacheStats } = require('./src/policy/cache');
          loadPolicy({ path: process.argv[2] }, { cacheDir: process.argv[3] }).then((p) => {
            const v = p.evaluate(require('./src/policy/request').emptyRequest()).verdict.decision;
            process.stdout.write(JSON.stringify({ transpiles: cacheStats.transpiles, waits: cacheStats.waits, v }));
          }, (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`,
        resolveDir: path.join(__dirname, '..', '..'),
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: runner,
      external: ['@bytecodealliance/*', 'esbuild'],
      nodePaths: [path.join(__dirname, '..', '..', 'node_modules')],
      logLevel: 'silent',
    });
    const run = () =>
      new Promise<{ transpiles: number; waits: number; v: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [runner, behavioursWasm, cacheDir], {
          env: { ...process.env, NODE_PATH: path.join(__dirname, '..', '..', 'node_modules') },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (err += d));
        child.on('close', (code) => {
          try {
            if (code !== 0) throw new Error(`runner exited ${code}`);
            resolve(JSON.parse(out));
          } catch (e) {
            reject(new Error(`${(e as Error).message}: ${out} ${err}`));
          }
        });
      });
    const results = await Promise.all([run(), run(), run()]).finally(() =>
      fs.rmSync(runnerDir, { recursive: true, force: true }),
    );
    expect(results.reduce((n, r) => n + r.transpiles, 0)).toBe(1);
    expect(results.map((r) => r.v)).toEqual(['deny', 'deny', 'deny']); // emptyRequest runs as root
    expect(fs.readdirSync(cacheDir).filter((f) => !f.startsWith('.'))).toHaveLength(1);
  }, 60_000);

  it('never serves a changed file from the cache', async () => {
    const cacheDir = path.join(tmp, 'cache-changed');
    const file = path.join(tmp, 'changing.wasm');
    fs.copyFileSync(behavioursWasm, file);
    const first = await loadPolicy({ path: file }, { cacheDir });
    fs.writeFileSync(file, fs.readFileSync(wasiWasm));
    await expect(loadPolicy({ path: file }, { cacheDir })).rejects.toThrow(/a policy must import nothing/);
    fs.copyFileSync(behavioursWasm, file);
    const third = await loadPolicy({ path: file }, { cacheDir });
    expect(third.digest).toBe(first.digest);
    expect(third.timings.cacheHit).toBe(true);
  });

  it('refuses an entry whose glue changed, by one character', async () => {
    const cacheDir = path.join(tmp, 'cache-glue');
    await loadPolicy({ path: behavioursWasm }, { cacheDir });
    const again = await loadPolicy({ path: behavioursWasm }, { cacheDir });
    expect(again.timings.cacheHit).toBe(true); // the glue as written passes the check
    const [entry] = fs.readdirSync(cacheDir).filter((f) => !f.startsWith('.') && f !== 'tools');
    const glue = path.join(cacheDir, entry, 'glue.js');
    fs.writeFileSync(glue, fs.readFileSync(glue, 'utf8').replace('function instantiate(', 'function instantiatf('));
    await expect(loadPolicy({ path: behavioursWasm }, { cacheDir })).rejects.toThrow(/is corrupt \(glue\.js changed\)/);
  });
});
