// What the recorded containers have reserved, as admission policies see it (runtime/committed.ts):
// records written on disk as box writes them, and damaged ones, which are left out.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layout, Roots } from '../../src/paths';
import { committedResources } from '../../src/runtime/committed';
import { ContainerStore } from '../../src/runtime/containers';
import { plainContainerConfig } from '../support/container-config';

let roots: Roots;
beforeEach(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-committed-'));
  roots = { root: path.join(dir, 'root'), runroot: path.join(dir, 'run') } as Roots;
});
afterEach(() => fs.rmSync(path.dirname(roots.root), { recursive: true, force: true }));

/** Writes a record as box does; `text` replaces it with raw content. */
function put(id: string, state: Record<string, unknown>, limits: Record<string, unknown>, text?: string): void {
  const dir = layout.container(roots, id);
  fs.mkdirSync(dir, { recursive: true });
  const record = {
    version: 1,
    id,
    name: `c-${id.slice(0, 4)}`,
    created: '2026-12-04T00:00:00.000Z',
    autoRemove: false,
    config: { ...plainContainerConfig(), limits },
    state,
  };
  fs.writeFileSync(path.join(dir, 'container.json'), text ?? JSON.stringify(record));
}

const id = (c: string) => c.repeat(64);

describe('committed resources', () => {
  it('sum the limits of created, running and restarting containers, not of exited ones or the one admitted', () => {
    const half = { cpuQuota: 50000, cpuPeriod: 100000 };
    put(id('a'), { status: 'running', pid: 1 }, { memory: 64 << 20, ...half, pidsLimit: 100 });
    put(id('b'), { status: 'created' }, {});
    put(id('c'), { status: 'exited', exitCode: 0, restarting: true }, { memory: 32 << 20, cpuQuota: 25000 });
    put(id('d'), { status: 'exited', exitCode: 0 }, { memory: 1 << 30 });
    put(id('e'), { status: 'running' }, { memory: 1 << 30 });
    // the full check of the store agrees that these records are usable
    expect(new ContainerStore(roots).scan().damaged).toEqual([]);
    expect(committedResources(roots, id('e'))).toEqual({
      containers: 3,
      memory: BigInt((64 << 20) + (32 << 20)),
      unlimitedMemory: 1,
      millicpus: 750n,
      unlimitedCpu: 1,
      pids: 100n,
    });
  });

  it('leave out records that are garbled, of another id or with limits box never writes', () => {
    put(id('a'), { status: 'running' }, { memory: 64 << 20 });
    put(id('b'), { status: 'running' }, {}, '{"id": "bbbb", "state": {"status": "run');
    const another = { id: id('d'), state: { status: 'running' }, config: { limits: {} } };
    put(id('c'), { status: 'running' }, {}, JSON.stringify(another));
    put(id('e'), { status: 'running' }, { memory: 1.5 });
    put(id('f'), { status: 'running' }, { pidsLimit: '100' });
    put(id('0'), { status: 'running' }, {}, JSON.stringify({ id: id('0'), state: { status: 'running' } }));
    expect(committedResources(roots, '')).toMatchObject({ containers: 1, memory: BigInt(64 << 20) });
  });
});
