import { describe, expect, it } from 'vitest';
import { resolveRoots } from '../../src/paths';

describe('storage and runtime roots', () => {
  it('default to /var/lib/box and /run/box', () => {
    expect(resolveRoots({}, {})).toEqual({ root: '/var/lib/box', runroot: '/run/box' });
  });

  it('BOX_ROOT moves the storage root, and the runtime root under it (a test root never shares /run/box)', () => {
    expect(resolveRoots({}, { BOX_ROOT: '/tmp/r' })).toEqual({ root: '/tmp/r', runroot: '/tmp/r/run' });
  });

  it('BOX_RUNROOT moves the runtime root alone', () => {
    expect(resolveRoots({}, { BOX_RUNROOT: '/tmp/rr' })).toEqual({ root: '/var/lib/box', runroot: '/tmp/rr' });
    expect(resolveRoots({}, { BOX_ROOT: '/tmp/r', BOX_RUNROOT: '/tmp/rr' })).toEqual({ root: '/tmp/r', runroot: '/tmp/rr' });
  });

  it('--root and --runroot win over the environment; relative paths are made absolute', () => {
    const env = { BOX_ROOT: '/tmp/env-root', BOX_RUNROOT: '/tmp/env-run' };
    expect(resolveRoots({ root: '/tmp/flag-root' }, env)).toEqual({ root: '/tmp/flag-root', runroot: '/tmp/env-run' });
    expect(resolveRoots({ root: '/tmp/flag-root', runroot: '/tmp/flag-run' }, env)).toEqual({ root: '/tmp/flag-root', runroot: '/tmp/flag-run' });
    expect(resolveRoots({ root: '/tmp/flag-root' }, {})).toEqual({ root: '/tmp/flag-root', runroot: '/tmp/flag-root/run' });
    expect(resolveRoots({ root: 'rel' }, {}).root).toBe(`${process.cwd()}/rel`);
  });
});
