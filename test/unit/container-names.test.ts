// Names are decided before admission (policies and the audit see them) and reserved at creation:
// a name the user asked for that is taken is an error; a name box generated that another
// container took meanwhile is replaced by a fresh one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerStore } from '../../src/runtime/containers';
import { plainContainerConfig } from '../support/container-config';

describe('container names', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-names-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new ContainerStore({ root: dir, runroot: path.join(dir, 'run') });
  const config = plainContainerConfig();

  it('a requested name that is taken is an error; a generated one is replaced', async () => {
    expect((await store.create('a'.repeat(64), config, 'calm_otter_1', false)).name).toBe('calm_otter_1');
    await expect(store.create('b'.repeat(64), config, 'calm_otter_1', false)).rejects.toThrow(/already in use/);
    const other = await store.create('c'.repeat(64), config, 'calm_otter_1', false, true);
    expect(other.name).not.toBe('calm_otter_1');
    expect(other.name).toMatch(/^[a-z]+_[a-z]+_\d+$/);
    expect(store.find(other.name)?.id).toBe('c'.repeat(64));
    expect(fs.existsSync(store.dir('b'.repeat(64)))).toBe(false);
  });
});
