// box-runc's state under the OCI `--root` (default /run/box-runc, root's alone): one directory per
// container id holding its record, the control FIFO `start` writes `go` into, the helper's status
// events and its monitor's state file. A container's status is read from these and from the
// kernel (is the init alive?), never from the record alone. As box-runc's native half holds it:
// the root is trusted only as box's own roots are (root's, writable by nobody else), and no file
// under it is reached through a symlink (a linked container directory or file is refused).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { isMonitorAlive, MonitorState, parseMonitorState } from '../runtime/monitor-state';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { linkInStore, openNoFollow, readNoFollow, trustRoot } from '../util/safe-open';
import type { CgroupLimits } from '../linux/cgroups';
import type { CgroupLocation } from '../linux/cgroup-manager';
import { renderStateFile } from './state-file';
import type { OciHook } from './config';

export const DEFAULT_OCI_ROOT = '/run/box-runc';

/** What `create` records about a container; written once, when the init exists. */
export interface OciRecord {
  id: string;
  bundle: string;
  rootfs: string;
  ociVersion: string;
  created: string;
  annotations: Record<string, string>;
  /** relative to each hierarchy's root */
  cgroupPath: string;
  pid: number;
  /** /proc/PID/stat's start time of the init: a recycled pid is not the container */
  pidStart: string;
  monitorPid: number;
  /** process.args[0], for the start's error messages */
  command: string;
  /** the hooks that run after create: poststart (start) and poststop (delete) */
  hooks: Partial<Record<'poststart' | 'poststop', OciHook[]>>;
  /** the cgroup limits as created or last updated */
  limits: CgroupLimits;
  /** linux.seccomp as created (after policies): an exec'd process gets the same filter, as with runc */
  seccomp?: string;
}

export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

// runc's rule for ids: no path separators, nothing a file name cannot be.
const ID_RE = /^[\w+.-]{1,1024}$/;

export function checkId(id: string | undefined): string {
  if (!id) throw new BoxError('container id cannot be empty: give the container id as the last argument');
  if (!ID_RE.test(id) || id === '.' || id === '..') {
    throw new BoxError(`invalid container id ${JSON.stringify(id)}: use letters, digits and + _ . -`);
  }
  return id;
}

export class OciStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, checkId(id));
  }
  recordFile(id: string): string {
    return path.join(this.dir(id), 'record.json');
  }
  /** FIFO: the monitor holds it open read-write from create on and reads `go` or `abort` from it */
  controlFifo(id: string): string {
    return path.join(this.dir(id), 'control');
  }
  /** the helper's status events (fd 4): pid, started, error, monitor */
  eventsFile(id: string): string {
    return path.join(this.dir(id), 'events');
  }
  monitorFile(id: string): string {
    return path.join(this.dir(id), 'monitor');
  }
  /** the cgroup's path, written before create makes it: delete --force of a create killed before its record */
  cgroupFile(id: string): string {
    return path.join(this.dir(id), 'cgroup');
  }
  /** what box-runc's native half reads (state-file.ts), written after the record */
  stateFile(id: string): string {
    return path.join(this.dir(id), 'state');
  }

  /**
   * Refuses a root another user owns or can write (or could swap, through a directory above it),
   * as the native half does, before any command reads or writes under it; a missing one is fine.
   */
  trust(): void {
    trustRoot(this.root, 'OCI root', '--root');
  }

  /** Makes the root (0700) and the container's directory; an existing one is runc's error. */
  claim(id: string): void {
    this.trust();
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new BoxError(`container with id exists: ${id}`);
      throw err;
    }
  }

  save(rec: OciRecord): void {
    writeJsonAtomic(this.recordFile(rec.id), rec, 0o600, false);
  }

  /** The state file of a recorded container: from here on box-runc's native half answers for it. */
  saveStateFile(rec: OciRecord, cgroup: CgroupLocation): void {
    writeFileAtomic(this.stateFile(rec.id), renderStateFile(rec, cgroup), 0o600, false);
  }

  /**
   * Refuses a container directory, or a state file in it, that is a symlink (the native half's
   * refusal, word for word): the files read and written below are then the root's own.
   */
  private checkLinks(id: string): void {
    let fd: number;
    try {
      fd = openNoFollow(this.dir(id), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      if (err instanceof BoxError) throw err;
      if (errnoCode(err) === 'ENOTDIR') {
        throw new BoxError(`${this.dir(id)} is not a directory where box keeps a container's files: remove it`);
      }
      throw new BoxError(`container ${id}: ${this.dir(id)}: ${(err as Error).message}`);
    }
    fs.closeSync(fd);
    if (fs.lstatSync(this.stateFile(id), { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw linkInStore(this.stateFile(id));
    }
  }

  /** The cgroup path a create wrote before it made the cgroup (undefined: none, or no create got that far). */
  cgroupPathOf(id: string): string | undefined {
    try {
      return readNoFollow(this.cgroupFile(id)).toString('utf8') || undefined;
    } catch {
      return undefined;
    }
  }

  /** The record, or undefined for a container that does not exist or is still being created. */
  get(id: string): OciRecord | undefined {
    this.checkLinks(id);
    try {
      // never through a symlink: the native half refuses one too
      return JSON.parse(readNoFollow(this.recordFile(id)).toString('utf8')) as OciRecord;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      if (err instanceof BoxError) throw err;
      throw new BoxError(
        `container ${id}: its record ${this.recordFile(id)} cannot be read: ${(err as Error).message}`,
      );
    }
  }

  /** The record of a container that must exist: runc's message otherwise, which clients match. */
  need(id: string): OciRecord {
    const rec = this.get(checkId(id));
    if (!rec) throw new BoxError(`container does not exist: ${id}`);
    return rec;
  }

  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => ID_RE.test(n));
    } catch {
      return [];
    }
  }

  events(id: string): string[] {
    try {
      return readNoFollow(this.eventsFile(id)).toString('utf8').split('\n');
    } catch {
      return [];
    }
  }

  monitor(id: string): MonitorState {
    try {
      return parseMonitorState(readNoFollow(this.monitorFile(id)).toString('utf8'));
    } catch {
      return {};
    }
  }

  status(rec: OciRecord, frozen: () => boolean): OciStatus {
    const mon = this.monitor(rec.id);
    if (mon.exited || !initAlive(rec)) return 'stopped';
    if (!mon.startedAt && !this.events(rec.id).includes('started')) {
      return isMonitorAlive(rec.monitorPid) ? 'created' : 'stopped';
    }
    return frozen() ? 'paused' : 'running';
  }

  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export function initAlive(rec: OciRecord): boolean {
  return procStartTime(rec.pid) === rec.pidStart;
}
