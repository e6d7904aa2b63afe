import { describe, expect, it } from 'vitest';
import { featurePaths, layout, lockPaths, resolveRoots } from '../../src/paths';

describe('storage and runtime roots', () => {
  it('default to /var/lib/box and /run/box', () => {
    expect(resolveRoots({}, {})).toEqual({ root: '/var/lib/box', runroot: '/run/box' });
  });

  it('BOX_ROOT moves the storage root, and the runtime root under it (a test root never shares /run/box)', () => {
    expect(resolveRoots({}, { BOX_ROOT: '/tmp/r' })).toEqual({ root: '/tmp/r', runroot: '/tmp/r/run' });
  });

  it('BOX_RUNROOT moves the runtime root alone', () => {
    expect(resolveRoots({}, { BOX_RUNROOT: '/tmp/rr' })).toEqual({ root: '/var/lib/box', runroot: '/tmp/rr' });
    expect(resolveRoots({}, { BOX_ROOT: '/tmp/r', BOX_RUNROOT: '/tmp/rr' })).toEqual({
      root: '/tmp/r',
      runroot: '/tmp/rr',
    });
  });

  it('--root and --runroot win over the environment; relative paths are made absolute', () => {
    const env = { BOX_ROOT: '/tmp/env-root', BOX_RUNROOT: '/tmp/env-run' };
    expect(resolveRoots({ root: '/tmp/flag-root' }, env)).toEqual({ root: '/tmp/flag-root', runroot: '/tmp/env-run' });
    expect(resolveRoots({ root: '/tmp/flag-root', runroot: '/tmp/flag-run' }, env)).toEqual({
      root: '/tmp/flag-root',
      runroot: '/tmp/flag-run',
    });
    expect(resolveRoots({ root: '/tmp/flag-root' }, {})).toEqual({
      root: '/tmp/flag-root',
      runroot: '/tmp/flag-root/run',
    });
    expect(resolveRoots({ root: 'rel' }, {}).root).toBe(`${process.cwd()}/rel`);
  });
});

describe('the on-disk layout', () => {
  // Existing stores are read where these say: a path that moves loses their state.
  const r = { root: '/var/lib/box', runroot: '/run/box' };

  it('keeps persistent state under the storage root, runtime state under the runtime root', () => {
    expect(layout.links(r)).toBe('/var/lib/box/l');
    expect(layout.images(r)).toBe('/var/lib/box/images');
    expect(layout.locks(r)).toBe('/run/box/locks');
    // a container's directory is its lock too, and keeps it while staged and trashed (container-lock.ts)
    const id = 'c'.repeat(64);
    expect(layout.containerStaging(r, id)).toBe(`/var/lib/box/containers/.new-${id}`);
    expect(layout.containerTrash(r, id)).toBe(`/var/lib/box/containers/.trash-${id}`);
    expect(() => layout.containerStaging(r, '../x')).toThrow('invalid container id');
    expect(featurePaths.events(r)).toBe('/run/box/events.jsonl');
    expect(featurePaths.policyAudit(r)).toBe('/var/lib/box/policy-audit.jsonl');
    expect(featurePaths.policyAuditRotated(r)).toBe('/var/lib/box/policy-audit.jsonl.1');
    expect(featurePaths.policies(r)).toBe('/var/lib/box/policies.d');
    expect(featurePaths.policyCache(r)).toBe('/var/lib/box/cache/policies');
    expect(featurePaths.storeOperations(r)).toBe('/run/box/store-ops');
  });

  it('puts every lock file under the runtime root', () => {
    expect(lockPaths.store(r)).toBe('/run/box/locks/store.lock');
    expect(lockPaths.admission(r)).toBe('/run/box/locks/admission.lock');
    expect(lockPaths.names(r)).toBe('/run/box/locks/names.lock');
    expect(lockPaths.containerFile(r, 'c'.repeat(64))).toBe(`/run/box/locks/containers/${'c'.repeat(64)}.lock`);
    expect(() => lockPaths.containerFile(r, '../../x')).toThrow(
      'invalid container id "../../x": a container id is 64 hex digits',
    );
    expect(lockPaths.layer(r, 'sha256:' + 'a'.repeat(64))).toBe(`/run/box/locks/layers/${'a'.repeat(64)}.lock`);
    expect(lockPaths.image(r, 'b'.repeat(64))).toBe(`/run/box/locks/images/${'b'.repeat(64)}.lock`);
  });
});
