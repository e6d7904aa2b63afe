// Which policies decide on `box update`: those recorded at admission, run as they were then
// (arguments, time limit, failure mode), and today's defaults that are not among them; and what
// is written to the cgroup once they patched it.
import { describe, expect, it } from 'vitest';
import type { AdmittedBy } from '../../src/model';
import { policiesForUpdate } from '../../src/policy/admission';
import type { PolicyRef } from '../../src/policy/sources';
import { limitsToWrite } from '../../src/runtime/update';

const admitted = (over: Partial<AdmittedBy>): AdmittedBy => ({
  name: 'strict',
  source: 'builtin:strict',
  sha256: '',
  mode: 'enforce',
  decision: 'allow',
  applied: [],
  warnings: [],
  ...over,
});
const ref = (r: string, over: Partial<PolicyRef> = {}): PolicyRef => ({
  ref: r,
  mode: 'enforce',
  args: [],
  origin: 'BOX_POLICY',
  ...over,
});

describe('policiesForUpdate', () => {
  it('runs the recorded policies with their arguments, then the new defaults', () => {
    const { refs, flags } = policiesForUpdate(
      [
        admitted({ args: [['max-memory', '512m']], timeoutMs: 300, failureMode: 'deny' }),
        admitted({ name: 'p', source: '/etc/box/p.wasm', mode: 'warn', timeoutMs: 100, failureMode: 'ignore' }),
      ],
      [ref('strict', { args: [['max-memory', '8g']] }), ref('baseline')],
    );
    expect(refs.map((r) => [r.ref, r.mode, r.args])).toEqual([
      ['strict', 'enforce', [['max-memory', '512m']]],
      ['/etc/box/p.wasm', 'warn', []],
      ['baseline', 'enforce', []],
    ]);
    // the strictest settings: the shortest time limit, deny unless every policy was run with ignore
    expect(flags).toMatchObject({ timeout: '100', failure: 'deny', args: [], policies: [] });
  });

  it('runs the defaults alone for a container admitted by none, and old records with no arguments', () => {
    expect(policiesForUpdate([], [ref('baseline')]).refs.map((r) => r.ref)).toEqual(['baseline']);
    const old = policiesForUpdate([admitted({})], []);
    expect(old.refs[0].args).toEqual([]);
    expect(old.flags.timeout).toBeUndefined();
  });
});

describe('limitsToWrite', () => {
  it('writes the final values of what the flags and the patch changed', () => {
    // flags asked pids 200 and memory 512m; a patch kept pids at 100 and set cpu-shares
    const before = { pidsLimit: 100, memory: 256 << 20 };
    const after = { pidsLimit: 100, memory: 512 << 20, cpuShares: 512 };
    expect(limitsToWrite(before, after, { pidsLimit: 200, memory: 512 << 20 })).toEqual({
      pidsLimit: 100,
      memory: 512 << 20,
      cpuShares: 512,
    });
  });
});
