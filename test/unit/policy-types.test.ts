// The committed TypeScript types for policy authors (policies/types) are what the WIT generates.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript
import { committedPolicyTypes, generatePolicyTypes } from '../../build/policy-types.mjs';

describe('policy types', () => {
  it('policies/types matches policies/wit/policy.wit (run node build/policy-types.mjs after changing the WIT)', async () => {
    expect(committedPolicyTypes()).toEqual(await generatePolicyTypes());
  });
});
