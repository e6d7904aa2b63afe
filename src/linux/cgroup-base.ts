// What cgroup v1 and v2 do alike for one container's cgroup: a directory under each hierarchy
// root (one root on v2, one per mounted hierarchy on v1), listing its processes, killing them and
// removing the directories. The version-specific parts are the abstract methods.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import type {
  CgroupHost,
  CgroupLimits,
  CgroupLocation,
  CgroupManager,
  CgroupStats,
  FreezerState,
  InitCgroup,
} from './cgroup-manager';
import { readWords } from './cgroup-files';

export abstract class CgroupBase implements CgroupManager {
  /** the cgroup's directory in each hierarchy */
  protected readonly dirs: string[];

  constructor(
    protected readonly host: CgroupHost,
    /** e.g. "box/<id>" */
    protected readonly relPath: string,
    /** the hierarchy roots: the unified mount on v2, each distinct controller mount on v1 */
    private readonly roots: string[],
  ) {
    this.dirs = roots.map((r) => path.join(r, relPath));
  }

  create(limits: CgroupLimits, privileged: boolean): void {
    try {
      this.build(limits, privileged);
    } catch (err) {
      this.remove();
      throw new BoxError(`cannot set up the container's cgroup: ${(err as Error).message}`);
    }
  }

  location(): CgroupLocation {
    return { roots: [...this.roots], relPath: this.relPath, freezer: this.freezerFile() };
  }

  /** The file that says whether the cgroup is frozen, and its line while it is. */
  protected abstract freezerFile(): CgroupLocation['freezer'];
  /** Creates the directories, then writes the limits and the device rules. */
  protected abstract build(limits: CgroupLimits, privileged: boolean): void;
  abstract writeLimits(limits: CgroupLimits, changed?: CgroupLimits): void;
  abstract initCgroup(): InitCgroup;
  abstract joinFiles(): string[];
  abstract freezerState(): FreezerState | undefined;
  abstract requestFreeze(frozen: boolean): void;
  abstract stats(): CgroupStats;
  abstract oomKilled(): boolean;

  /** cgroup.procs of each hierarchy: which processes the cgroup holds (v2: where the helper writes the init's pid). */
  procsFiles(): string[] {
    return this.dirs.map((d) => path.join(d, 'cgroup.procs'));
  }

  pids(): number[] {
    const pids = new Set<number>();
    for (const f of this.procsFiles()) {
      for (const w of readWords(f)) pids.add(Number(w));
    }
    return [...pids];
  }

  killAll(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Processes of a dead PID namespace can take a moment to leave the cgroup: EBUSY is retried for a bounded time. */
  remove(): void {
    const deadline = Date.now() + 5000;
    for (const dir of this.dirs) {
      for (;;) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) throw err;
          this.killAll();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        }
      }
    }
    this.removeEmptyParents();
  }

  /** Removes the shared parents (e.g. box/) once no container uses them; busy parents stay. */
  private removeEmptyParents(): void {
    for (const root of this.roots) {
      for (let rel = path.dirname(this.relPath); rel !== '.' && rel !== '/'; rel = path.dirname(rel)) {
        try {
          fs.rmdirSync(path.join(root, rel));
        } catch {
          break; // another container's cgroup is still in it, or it is gone already
        }
      }
    }
  }
}
