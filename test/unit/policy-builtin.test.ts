// The built-in policies, built from policies/builtin/*.ts into real components, against their
// cases (policies/builtin/cases/*.json) through the engine and `box policy test`'s logic.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectPolicy, testPolicy } from '../../src/policy/commands';
import { component } from '../support/policy-components';

const BUILTIN = path.join(__dirname, '..', '..', 'policies', 'builtin');
const NAMES = ['baseline', 'strict', 'capacity'] as const;
const wasm: Record<string, string> = {};
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-builtin-'));
  for (const name of NAMES) wasm[name] = await component(path.join(BUILTIN, `${name}.ts`)); // one at a time
}, 240_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(NAMES)('built-in policy %s', (name) => {
  it('passes its cases', async () => {
    const results = await testPolicy(wasm[name], path.join(BUILTIN, 'cases', `${name}.json`), { cacheDir: path.join(tmp, 'cache'), name });
    expect(results.length).toBeGreaterThan(2);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join('; ')}`)).toEqual([]);
  });

  it('describes itself', async () => {
    const r = await inspectPolicy(wasm[name], { cacheDir: path.join(tmp, 'cache'), name });
    expect(r.info.name).toBe(name);
    expect(r.world).toBe('box:policy/admission@0.1.0');
    expect(r.imports).toEqual([]);
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
