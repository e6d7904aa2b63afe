// What a policy can take from the host is bounded: its memories and tables together fit the
// memory limit (checked before instantiation, and growth at run time fails past it), and its
// start-up code runs under a time limit; reasons, warnings and the audit log are capped. Hostile components made from hand-written core modules.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitCoreResources, TABLE_ENTRY_BYTES, WASM_PAGE } from '../../src/policy/binary';
import { appendAudit, auditFile, AuditEntry, readAudit, rotatedAuditFile } from '../../src/policy/audit';
import { boundMessages, DEFAULT_INSTANTIATE_TIMEOUT_MS, PATCH_MAX_CHARS } from '../../src/policy/engine';
import { loadPolicy } from '../../src/policy/load';
import { emptyRequest } from '../../src/policy/request';
import { component, coreComponent, FIXTURES } from '../support/policy-components';

const EXPORTS = `
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
  (func (export "box:policy/admission@0.2.0#describe") (result i32) unreachable)`;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-resources-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function load(name: string, coreWat: string, limits = {}) {
  const bytes = await coreComponent(coreWat);
  return loadPolicy({ bytes, name }, { name, cacheDir: path.join(tmp, 'cache'), limits });
}

describe('policy resources', () => {
  it('refuses 20 tables of 10M entries before instantiating anything', async () => {
    const tables = Array.from({ length: 20 }, () => '(table 10000000 funcref)').join(' ');
    const t = Date.now();
    await expect(
      load(
        'tables',
        `(module ${EXPORTS} ${tables}
      (func (export "box:policy/admission@0.2.0#evaluate") (param i32) (result i32) unreachable))`,
      ),
    ).rejects.toThrow(
      'policy tables: its memories (0.1 MiB) and tables (200000000 entries, 6103.5 MiB) need 6103.6 MiB ' +
        'before it runs, above the policy memory limit of 128 MiB',
    );
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('stops table.grow at the limit it shares with memory', async () => {
    // Grows by 1M entries until table.grow fails, then returns the table's size as a trap code.
    const policy = await load(
      'grow',
      `(module ${EXPORTS} (table $t 1 funcref)
      (func (export "box:policy/admission@0.2.0#evaluate") (param i32) (result i32)
        (block $full (loop $more
          (br_if $full (i32.eq (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1)))
          (br $more)))
        unreachable))`,
    );
    const rssBefore = process.memoryUsage().rss;
    const t = Date.now();
    const e = policy.evaluate(emptyRequest());
    expect(e.verdict.decision).toBe('deny');
    expect(e.failure?.kind).toBe('trap');
    expect(Date.now() - t).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('stops a start function that loops at the instantiation limit', async () => {
    const policy = await load(
      'spin',
      `(module ${EXPORTS}
      (func $spin (loop $l (br $l))) (start $spin)
      (func (export "box:policy/admission@0.2.0#evaluate") (param i32) (result i32) unreachable))`,
    );
    const t = Date.now();
    const e = policy.evaluate(emptyRequest());
    const took = Date.now() - t;
    expect(e.failure).toEqual({
      kind: 'timeout',
      message: `exceeded its start-up time limit of ${DEFAULT_INSTANTIATE_TIMEOUT_MS} ms`,
    });
    expect(took).toBeGreaterThanOrEqual(DEFAULT_INSTANTIATE_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(DEFAULT_INSTANTIATE_TIMEOUT_MS * 3 + 1500); // one retry when starved of CPU
  });

  it('keeps 40 reasons aliasing one 1 MB string within the caps, quickly', async () => {
    // The verdict (canonical ABI, at 1024): decision deny; reasons: 40 × (65536, 1 MiB) at 2048;
    // no warnings; no patch. The 1 MiB of 'x' is at 65536.
    const policy = await load(
      'flood',
      `(module
      (memory (export "memory") 32)
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
      (func (export "box:policy/admission@0.2.0#describe") (result i32) unreachable)
      (func (export "box:policy/admission@0.2.0#evaluate") (param i32) (result i32) (local $i i32)
        (memory.fill (i32.const 65536) (i32.const 120) (i32.const 1048576))
        (loop $each
          (i32.store (i32.add (i32.const 2048) (i32.mul (local.get $i) (i32.const 8))) (i32.const 65536))
          (i32.store (i32.add (i32.const 2052) (i32.mul (local.get $i) (i32.const 8))) (i32.const 1048576))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $each (i32.lt_u (local.get $i) (i32.const 40))))
        (i32.store8 (i32.const 1024) (i32.const 1))
        (i32.store (i32.const 1028) (i32.const 2048))
        (i32.store (i32.const 1032) (i32.const 40))
        (i32.const 1024)))`,
    );
    const t = Date.now();
    const e = policy.evaluate(emptyRequest());
    expect(Date.now() - t).toBeLessThan(3000);
    expect(e.failure).toBeUndefined();
    expect(e.verdict.decision).toBe('deny');
    expect(e.verdict.reasons).toHaveLength(9);
    expect(e.verdict.reasons.join('').length).toBeLessThan(9000);
    expect(e.verdict.reasons.at(-1)).toMatch(/^\(box dropped 32 more reasons, 33554432 characters/);
  });

  it('gives the budget to what may grow, after what is needed at start', async () => {
    // A fixed table of 1000 entries and a memory of 2 pages: the memory may grow into the rest.
    const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
    const wasm = await tools.parse('(module (memory (export "memory") 2) (table 1000 1000 funcref))');
    const limit = 8 * 1024 * 1024;
    const [out] = limitCoreResources([wasm], limit, 'm');
    const mod = new WebAssembly.Module(out);
    const inst = new WebAssembly.Instance(mod);
    const mem = inst.exports.memory as WebAssembly.Memory;
    const maxPages = Math.floor((limit - 2 * WASM_PAGE - 1000 * TABLE_ENTRY_BYTES) / WASM_PAGE) + 2;
    expect(mem.grow(maxPages - 2)).toBe(2);
    expect(() => mem.grow(1)).toThrow(RangeError);
  });
});

describe('reasons, warnings and the audit log are bounded', () => {
  it('keeps at most 20 messages of 8192 characters in all, saying what it dropped or cut', () => {
    const mb = 'x'.repeat(1 << 20);
    const out = boundMessages(
      Array.from({ length: 40 }, () => mb),
      'reasons',
    );
    expect(out).toHaveLength(9);
    expect(out[0]).toBe(`${'x'.repeat(1024)}... (box cut ${(1 << 20) - 1024} characters)`);
    expect(out[8]).toBe(
      `(box dropped 32 more reasons, ${32 * (1 << 20)} characters: at most 20 reasons of 8192 characters are kept)`,
    );
    expect(out.join('').length).toBeLessThan(10_000);
    const many = boundMessages(
      Array.from({ length: 25 }, (_, i) => `w${i}`),
      'warnings',
    );
    expect(many).toHaveLength(21);
    expect(many[20]).toBe(
      '(box dropped 5 more warnings, 15 characters: at most 20 warnings of 8192 characters are kept)',
    );
    expect(boundMessages(['a', 'b'], 'reasons')).toEqual(['a', 'b']);
  });

  it('refuses a patch larger than box takes', async () => {
    const behaviours = await component(path.join(FIXTURES, 'behaviours.ts'));
    const policy = await loadPolicy(
      { path: behaviours },
      { name: 'behaviours', cacheDir: path.join(tmp, 'cache'), limits: { timeoutMs: 10_000 } },
    );
    const r = emptyRequest();
    r.container.name = 'huge-patch';
    const e = policy.evaluate(r);
    expect(e.failure).toEqual({
      kind: 'invalid-verdict',
      message: `returned an invalid verdict: its patch holds 1200002 characters, more than box takes (${PATCH_MAX_CHARS})`,
    });
    expect(e.verdict.decision).toBe('deny');
  }, 240_000);

  it('writes a patch whose limits are bigints as numbers, and an entry without them as it is', () => {
    const roots = { root: path.join(tmp, 'audit-bigints'), runroot: path.join(tmp, 'audit-bigints-run') };
    const base: AuditEntry = {
      time: 't',
      container: { id: 'i', name: 'c' },
      image: { reference: 'r', id: 'i' },
      policy: { name: 'p', source: 's', sha256: '' },
      mode: 'enforce',
      decision: 'allow',
      outcome: 'admitted',
      reasons: [],
      warnings: ['w'],
      applied: [],
      durationMs: 1,
    };
    const patch = {
      dropCapabilities: [],
      readOnlyMounts: [],
      readOnlyRootfs: true,
      noNewPrivileges: false,
      addEnv: [],
      addLabels: [],
    };
    const limits = { memory: 64n << 20n, pidsLimit: 100n, ulimits: [{ name: 'nofile', soft: 1024n, hard: 4096n }] };
    appendAudit(roots, [
      { ...base, patch },
      { ...base, patch: { ...patch, limits } },
    ]);
    const [plain, limited] = readAudit(roots);
    expect(plain).toEqual({ ...base, patch });
    expect(limited.patch?.limits).toEqual({
      memory: 64 << 20,
      pidsLimit: 100,
      ulimits: [{ name: 'nofile', soft: 1024, hard: 4096 }],
    });
  });

  it('rotates the audit log past its size, keeping the previous one for policy log', () => {
    const roots = { root: path.join(tmp, 'audit-root'), runroot: path.join(tmp, 'audit-run') };
    const entry = (n: number): AuditEntry => ({
      time: `t${n}`,
      container: { id: 'i', name: `c${n}` },
      image: { reference: 'r', id: 'i' },
      policy: { name: 'p', source: 's', sha256: '' },
      mode: 'enforce',
      decision: 'allow',
      outcome: 'admitted',
      reasons: ['x'.repeat(400)],
      warnings: [],
      applied: [],
      durationMs: 1,
    });
    for (let n = 0; n < 10; n++) appendAudit(roots, [entry(n)], 2000);
    expect(fs.statSync(roots.root).mode & 0o777).toBe(0o700); // made by the first append
    expect(fs.statSync(auditFile(roots)).size).toBeLessThanOrEqual(2000);
    expect(fs.statSync(rotatedAuditFile(roots)).size).toBeLessThanOrEqual(2000);
    const names = readAudit(roots).map((e) => e.container.name);
    expect(names.at(-1)).toBe('c9');
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(names).toEqual(names.slice().sort());
  });
});
