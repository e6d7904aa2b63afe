// Which policies decide on `box update`: those recorded at admission, run as they were then
// (arguments, time limit, failure mode), and today's defaults that are not among them.
import { describe, expect, it } from 'vitest';
import { AdmittedBy, policiesForUpdate } from '../../src/policy/admission';
import type { PolicyRef } from '../../src/policy/sources';

const admitted = (over: Partial<AdmittedBy>): AdmittedBy => ({
  name: 'strict', source: 'builtin:strict', sha256: '', mode: 'enforce', decision: 'allow', applied: [], warnings: [], ...over,
});
const ref = (r: string, over: Partial<PolicyRef> = {}): PolicyRef => ({ ref: r, mode: 'enforce', args: [], origin: 'BOX_POLICY', ...over });

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
