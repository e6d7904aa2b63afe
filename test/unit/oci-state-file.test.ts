// The state file box-runc's two halves share (src/oci/state-file.ts writes it, native/oci-state.c
// reads it): one format, so the C reader's keys, magic and version must be the TypeScript ones.
// That the native half reads what box writes, byte for byte, is test/integration/oci-native.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseStateFile,
  renderStateFile,
  STATE_FILE_MAGIC,
  STATE_FILE_VERSION,
  STATE_KEYS,
} from '../../src/oci/state-file';
import type { OciRecord } from '../../src/oci/store';
import { REPO } from '../support/box';

const cSource = fs.readFileSync(path.join(REPO, 'native', 'oci-state.c'), 'utf8');

const rec: OciRecord = {
  id: 'c1',
  bundle: '/b "x"',
  rootfs: '/b/rootfs',
  ociVersion: '1.2.0',
  created: '2026-12-04T21:00:00.000Z',
  annotations: { 'a\nb': 'é "\\', '7': 'seven' },
  cgroupPath: 'box-runc/c1',
  pid: 42,
  pidStart: '123456',
  monitorPid: 41,
  command: 'sh\t-x',
  hooks: { poststop: [{ path: '/bin/true', args: ['true'], env: [] }] },
  limits: {},
};
const cgroup = {
  roots: ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids'],
  relPath: 'box-runc/c1',
  freezer: { file: '/sys/fs/cgroup/freezer/box-runc/c1/freezer.state', frozenLine: 'FROZEN' },
};

describe("box-runc's state file", () => {
  it('has the same keys, magic and version in the C reader as in its TypeScript definition', () => {
    const table = /static const char \*const KEYS\[\] = \{([^}]*)\}/.exec(cSource)?.[1] ?? '';
    expect([...table.matchAll(/"([^"]+)"/g)].map((m) => m[1])).toEqual([...STATE_KEYS]);
    expect(/#define STATE_MAGIC "([^"]*) "/.exec(cSource)?.[1]).toBe(STATE_FILE_MAGIC);
    expect(Number(/#define STATE_VERSION (\d+)/.exec(cSource)?.[1])).toBe(STATE_FILE_VERSION);
  });

  it('is one line a key, strings as JSON writes them, and reads back what was written', () => {
    const text = renderStateFile(rec, cgroup);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`${STATE_FILE_MAGIC} ${STATE_FILE_VERSION}`);
    expect(lines).toContain('bundle "/b \\"x\\""');
    // JSON.stringify's order: integer-like keys first
    expect(lines.filter((l) => l.startsWith('annotation '))).toEqual([
      'annotation "7" "seven"',
      'annotation "a\\nb" "é \\"\\\\"',
    ]);
    expect(lines).toContain('hook poststop');
    expect(lines).not.toContain('hook poststart');
    for (const l of lines.slice(1, -1)) expect(STATE_KEYS).toContain(l.split(' ')[0]);
    const back = parseStateFile(text);
    const { hooks, limits, cgroupPath, ...shared } = rec;
    expect(back.record).toEqual(shared);
    expect(Object.keys(back.record.annotations)).toEqual(Object.keys(rec.annotations));
    expect(back.hooks).toEqual(['poststop']);
    expect(back.cgroup).toEqual(cgroup);
  });
});
