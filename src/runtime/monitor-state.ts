// What a container's monitor (box-helper with `detach`) reports about it, and whether the monitor
// is still alive. The monitor rewrites its state file atomically (native/PROTOCOL.md). The file is
// <runroot>/containers/<id>.state, beside the container's runtime directory rather than in it: a
// plain detached container needs no directory there (only attach, health checks and a foreground
// run put files in it), and each is a new inode on every start. Older boxes' monitors, whose
// containers may still run, keep it in the directory as `state`; both are read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { layout, Roots } from '../paths';
import { readStoreFileIfExists, removeTree } from '../util/fs';
import { isoTime } from '../util/iso-time';

export interface MonitorState {
  monitorPid?: number;
  pid?: number;
  startedAt?: string;
  exited?: { code: number; at: string };
}

export function runtimeDir(roots: Roots, id: string): string {
  return layout.runContainer(roots, id);
}

export function monitorStateFile(roots: Roots, id: string): string {
  return `${layout.runContainer(roots, id)}.state`;
}

/** Where an older box's monitor keeps it (a container started before the upgrade). */
function olderMonitorStateFile(roots: Roots, id: string): string {
  return path.join(runtimeDir(roots, id), 'state');
}

export function logFile(containerDir: string): string {
  return path.join(containerDir, 'container.log');
}

const nanosToIso = (n: string) => isoTime(Number(BigInt(n) / 1000000n));

export function readMonitorState(roots: Roots, id: string): MonitorState {
  const text =
    readStoreFileIfExists(monitorStateFile(roots, id)) ?? readStoreFileIfExists(olderMonitorStateFile(roots, id));
  return parseMonitorState(text ?? '');
}

/** A monitor's state file (native/PROTOCOL.md `state`), wherever it is kept (box-runc's are elsewhere). */
export function parseMonitorState(text: string): MonitorState {
  const st: MonitorState = {};
  for (const line of text.split('\n')) {
    const [key, a, b] = line.split(' ');
    if (key === 'monitor') st.monitorPid = Number(a);
    else if (key === 'pid') st.pid = Number(a);
    else if (key === 'started') st.startedAt = nanosToIso(a);
    else if (key === 'exited') st.exited = { code: Number(a), at: nanosToIso(b) };
  }
  return st;
}

/** True if PID is alive and is a box-helper (a recycled pid of another program does not count). */
export function isMonitorAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).includes('box-helper') && !/^[ZX]$/.test(procState(pid));
  } catch {
    return false;
  }
}

function procState(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'X';
  }
}

/** Deletes a container's runtime files: its monitor's state file (and a killed monitor's temp file) and directory. */
export function removeRuntimeDir(roots: Roots, id: string): void {
  const state = monitorStateFile(roots, id);
  fs.rmSync(state, { force: true });
  fs.rmSync(`${state}.tmp`, { force: true });
  removeTree(runtimeDir(roots, id)); // (looks first: fs.rmSync's recursive removal loads Node's rimraf)
}

/** The id of a container whose runtime files an entry of <runroot>/containers is (its directory or state file). */
export function runtimeEntryId(entry: string): string | undefined {
  return /^([0-9a-f]{64})(\.state(\.tmp)?)?$/.exec(entry)?.[1];
}
