// The monitor's state file lies beside the container's runtime directory (<id>.state), and an
// older box's monitor, whose container may still run after an upgrade, keeps it in the directory:
// both are read, and a container's runtime files go whichever it has.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Roots } from '../../src/paths';
import {
  monitorStateFile,
  readMonitorState,
  removeRuntimeDir,
  runtimeDir,
  runtimeEntryId,
} from '../../src/runtime/monitor-state';

const ID = 'a'.repeat(64);
const STARTED = `monitor 10\npid 11\nstarted ${1_700_000_000_000_000_000n}\n`;

describe("the monitor's state file", () => {
  let dir: string;
  let roots: Roots;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-monitor-state-'));
    roots = { root: path.join(dir, 'root'), runroot: path.join(dir, 'run') };
    fs.mkdirSync(path.join(roots.runroot, 'containers'), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lies beside the runtime directory, not in it', () => {
    expect(monitorStateFile(roots, ID)).toBe(path.join(roots.runroot, 'containers', `${ID}.state`));
    expect(path.dirname(monitorStateFile(roots, ID))).toBe(path.dirname(runtimeDir(roots, ID)));
  });

  it("is read where an older box's monitor keeps it, and where this box's does first", () => {
    expect(readMonitorState(roots, ID)).toEqual({});
    fs.mkdirSync(runtimeDir(roots, ID));
    fs.writeFileSync(path.join(runtimeDir(roots, ID), 'state'), STARTED);
    expect(readMonitorState(roots, ID)).toEqual({ monitorPid: 10, pid: 11, startedAt: '2023-11-14T22:13:20.000Z' });
    fs.writeFileSync(monitorStateFile(roots, ID), 'monitor 20\npid 21\n');
    expect(readMonitorState(roots, ID)).toEqual({ monitorPid: 20, pid: 21 });
  });

  it("goes with the container's runtime files: the directory, the file and a killed monitor's temp file", () => {
    fs.mkdirSync(runtimeDir(roots, ID));
    fs.writeFileSync(path.join(runtimeDir(roots, ID), 'state'), STARTED);
    fs.writeFileSync(monitorStateFile(roots, ID), STARTED);
    fs.writeFileSync(`${monitorStateFile(roots, ID)}.tmp`, 'monitor 1\n');
    const other = 'b'.repeat(64);
    fs.writeFileSync(monitorStateFile(roots, other), STARTED);
    removeRuntimeDir(roots, ID);
    expect(fs.readdirSync(path.join(roots.runroot, 'containers'))).toEqual([`${other}.state`]);
  });

  it('names the container of each runtime entry, and nothing else', () => {
    expect([ID, `${ID}.state`, `${ID}.state.tmp`].map(runtimeEntryId)).toEqual([ID, ID, ID]);
    expect([`${ID}.lock`, `${ID}.statex`, 'state', `x${ID}`].map(runtimeEntryId)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
