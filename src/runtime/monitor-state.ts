// What a container's monitor (box-helper with `detach`) reports about it, and whether the monitor
// is still alive. The monitor rewrites its state file atomically (native/PROTOCOL.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { layout, Roots } from '../paths';
import { readStoreFileIfExists } from '../util/fs';
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
  return path.join(runtimeDir(roots, id), 'state');
}

export function logFile(containerDir: string): string {
  return path.join(containerDir, 'container.log');
}

const nanosToIso = (n: string) => isoTime(Number(BigInt(n) / 1000000n));

export function readMonitorState(roots: Roots, id: string): MonitorState {
  return parseMonitorState(readStoreFileIfExists(monitorStateFile(roots, id)) ?? '');
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

export function removeRuntimeDir(roots: Roots, id: string): void {
  fs.rmSync(runtimeDir(roots, id), { recursive: true, force: true });
}
