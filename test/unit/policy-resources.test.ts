// What a policy can take from the host is bounded: its memories and tables together fit the
// memory limit (checked before instantiation, and growth at run time fails past it), and its
// start-up code runs under a time limit. Hostile components made from hand-written core modules.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitCoreResources, TABLE_ENTRY_BYTES, WASM_PAGE } from '../../src/policy/binary';
import { DEFAULT_INSTANTIATE_TIMEOUT_MS, loadPolicy } from '../../src/policy/engine';
import { emptyRequest } from '../../src/policy/request';
import { coreComponent } from '../support/policy-components';

const EXPORTS = `
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
  (func (export "box:policy/admission@0.1.0#describe") (result i32) unreachable)`;

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
    await expect(load('tables', `(module ${EXPORTS} ${tables}
      (func (export "box:policy/admission@0.1.0#evaluate") (param i32) (result i32) unreachable))`)).rejects.toThrow(
      /policy tables: its memories \(0\.1 MiB\) and tables \(200000000 entries, 6103\.5 MiB\) need 6103\.6 MiB before it runs, above the policy memory limit of 128 MiB/,
    );
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('stops table.grow at the limit it shares with memory', async () => {
    // Grows by 1M entries until table.grow fails, then returns the table's size as a trap code.
    const policy = await load('grow', `(module ${EXPORTS} (table $t 1 funcref)
      (func (export "box:policy/admission@0.1.0#evaluate") (param i32) (result i32)
        (block $full (loop $more
          (br_if $full (i32.eq (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1)))
          (br $more)))
        unreachable))`);
    const rssBefore = process.memoryUsage().rss;
    const t = Date.now();
    const e = policy.evaluate(emptyRequest());
    expect(e.verdict.decision).toBe('deny');
    expect(e.failure?.kind).toBe('trap');
    expect(Date.now() - t).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('stops a start function that loops at the instantiation limit', async () => {
    const policy = await load('spin', `(module ${EXPORTS}
      (func $spin (loop $l (br $l))) (start $spin)
      (func (export "box:policy/admission@0.1.0#evaluate") (param i32) (result i32) unreachable))`);
    const t = Date.now();
    const e = policy.evaluate(emptyRequest());
    const took = Date.now() - t;
    expect(e.failure).toEqual({ kind: 'timeout', message: `exceeded its start-up time limit of ${DEFAULT_INSTANTIATE_TIMEOUT_MS} ms` });
    expect(took).toBeGreaterThanOrEqual(DEFAULT_INSTANTIATE_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(DEFAULT_INSTANTIATE_TIMEOUT_MS * 3);
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
