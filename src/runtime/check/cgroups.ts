// Container cgroups (box/<id>) in every cgroup hierarchy the kernel has mounted: the unified one
// and each v1 controller's, found from the mount table, not from what box detects for its own use.
// One is a leftover when its container is not live (no record, or not running) and no command
// holds the container's lock or its owner lock (a start between creating the cgroup and
// recording the run). Only ids this root knows are looked at: another root's containers share
// the `box/` parent; an unknown id counts when a process in it is a child of this root's helper.
// box-runc's (box-runc/<id>, its default cgroupsPath) are this root's when a process in them is
// the child of this root's helper, and leftovers when no such helper serves a container: its OCI
// directory holds no record, or it is gone (processes.ts helperKeeper, the process check's rule).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../../errors';
import { mountTable } from '../../linux/mountinfo';
import { CONTAINER_ID_RE } from '../../paths';
import { CheckContext, persisting, readdir } from './context';
import { helperKeeper } from './processes';
import { isRootHelper, listProcs, Proc, readProc } from './procs';
import { Checker, Finding } from './types';

/** The mount point of each cgroup hierarchy (one per superblock: a hierarchy mounted twice counts once). */
function hierarchies(): string[] {
  const seen = new Map<string, string>();
  for (const m of mountTable()) {
    if (m.fstype !== 'cgroup' && m.fstype !== 'cgroup2') continue;
    let key: string;
    try {
      const st = fs.statSync(m.mountPoint);
      key = `${st.dev}:${st.ino}`;
    } catch {
      continue;
    }
    if (!seen.has(key)) seen.set(key, m.mountPoint);
  }
  return [...seen.values()];
}

/**
 * Whether a process in the cgroup is a child of this root's helper (its monitor, or the helper as
 * its init's parent): a cgroup whose records, runtime directory and event log are all gone is
 * still this root's then.
 */
function heldByRootHelper(ctx: CheckContext, dir: string): boolean {
  return pidsIn(dir).some((pid) => {
    const parent = readProc(readProc(pid)?.ppid ?? 0);
    return parent !== undefined && isRootHelper(ctx.roots, parent);
  });
}

/** Why the container's cgroup is a leftover, or undefined when it is in use. */
function leftoverReason(ctx: CheckContext, id: string): string | undefined {
  if (ctx.inUse(id)) return undefined;
  const r = ctx.record(id);
  if (r) return `container ${id.slice(0, 12)} is ${r.state.status}, not running`;
  return ctx.exists(id) ? undefined : `container ${id.slice(0, 12)} does not exist`;
}

function pidsIn(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kills what is left in the cgroup and removes it (children first); EBUSY is retried for a bounded time. */
function removeCgroup(dir: string): void {
  for (const sub of readdir(dir)) {
    const p = path.join(dir, sub);
    if (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) removeCgroup(p);
  }
  const deadline = Date.now() + 5000;
  for (;;) {
    for (const pid of pidsIn(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** box-runc's ids (runc's rule: no path separator), as its store takes them (src/oci/store.ts). */
const OCI_ID_RE = /^[\w+.-]{1,1024}$/;

/** Each box-runc container's cgroup directories, in every hierarchy, by id. */
function ociCgroups(): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  for (const h of hierarchies()) {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(path.join(h, 'box-runc'), { withFileTypes: true });
    } catch {
      continue; // no box-runc container in this hierarchy
    }
    for (const e of entries) {
      // beside its cgroups, the parent's own files (cgroup.procs, tasks...)
      if (e.isDirectory() && OCI_ID_RE.test(e.name))
        byId.set(e.name, [...(byId.get(e.name) ?? []), path.join(h, 'box-runc', e.name)]);
    }
  }
  return byId;
}

/** This root's helpers that are the parents of processes in the cgroup directories. */
function helperParents(ctx: CheckContext, dirs: string[], all: Proc[]): Proc[] {
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const parents = dirs.flatMap(pidsIn).flatMap((pid) => byPid.get(byPid.get(pid)?.ppid ?? 0) ?? []);
  return parents.filter((p) => isRootHelper(ctx.roots, p));
}

/**
 * box-runc's cgroups that are this root's leftovers, as the process table and the OCI records
 * are now: those whose processes' parents are this root's helpers, none serving a container. One
 * whose processes have no such parent is left alone (another root's, or a container started and
 * handed to its caller, as runc's are).
 */
function ociLeftovers(ctx: CheckContext): Finding[] {
  const cgroups = ociCgroups();
  if (!cgroups.size) return []; // (and no process table read where box-runc is not used)
  const all = listProcs();
  const isKept = helperKeeper(ctx, all);
  return [...cgroups].flatMap(([id, dirs]) => {
    const helpers = helperParents(ctx, dirs, all);
    if (!helpers.length || helpers.some(isKept)) return [];
    return dirs.map((dir) => {
      const pids = pidsIn(dir).length;
      const holding = pids ? ` (${pids} process${pids === 1 ? '' : 'es'} left in it)` : '';
      const reason = `box-runc container ${id}: its helper serves no container (no record under its OCI root)`;
      return { kind: 'cgroup', object: dir, reason: reason + holding, detail: { ociId: id } };
    });
  });
}

/** A box-runc container's cgroup, unless one of its helpers serves it now: what is left in it is killed. */
function fixOciCgroup(ctx: CheckContext, f: Finding): void {
  const dirs = ociCgroups().get(String(f.detail!.ociId)) ?? [];
  const all = listProcs();
  if (helperParents(ctx, dirs, all).some(helperKeeper(new CheckContext(ctx.roots), all))) {
    throw new Error(`box-runc container ${f.detail!.ociId} is served by a helper now`);
  }
  removeCgroup(f.object);
}

export const cgroupChecker: Checker = {
  kind: 'cgroup',
  async find(ctx) {
    const known = ctx.knownIds();
    const dirs = hierarchies().flatMap((h) =>
      readdir(path.join(h, 'box'))
        .filter((id) => CONTAINER_ID_RE.test(id) && (known.has(id) || heldByRootHelper(ctx, path.join(h, 'box', id))))
        .map((id) => ({ id, dir: path.join(h, 'box', id) })),
    );
    // a container being started has its cgroup before its record says running
    const stillLeft = (list: typeof dirs) => {
      const now = new CheckContext(ctx.roots);
      const reasons = new Map([...new Set(list.map((d) => d.id))].map((id) => [id, leftoverReason(now, id)]));
      return list.filter((d) => reasons.get(d.id) && fs.existsSync(d.dir));
    };
    // a helper is recorded a moment after it starts (the process check waits as long)
    const ociStillLeft = (found: Finding[]) => {
      const again = new Set(ociLeftovers(new CheckContext(ctx.roots)).map((f) => f.object));
      return found.filter((f) => again.has(f.object));
    };
    const [left, ociLeft] = await Promise.all([
      persisting(dirs, stillLeft),
      persisting(ociLeftovers(ctx), ociStillLeft),
    ]);
    const reasons = new Map([...new Set(left.map((d) => d.id))].map((id) => [id, leftoverReason(ctx, id)]));
    const boxLeft = left.flatMap(({ id, dir }): Finding[] => {
      const reason = reasons.get(id);
      if (!reason) return [];
      const pids = pidsIn(dir).length;
      const holding = pids ? ` (${pids} process${pids === 1 ? '' : 'es'} left in it)` : '';
      return [{ kind: 'cgroup', object: dir, reason: reason + holding, detail: { id } }];
    });
    return [...boxLeft, ...ociLeft];
  },
  async fix(ctx, f) {
    if (f.detail!.ociId !== undefined) return fixOciCgroup(ctx, f);
    const id = String(f.detail!.id);
    const lock = ctx.tryLockContainer(id);
    if (lock === 'busy') throw new Error(`container ${id.slice(0, 12)} is in use by a box command`);
    try {
      const now = new CheckContext(ctx.roots);
      if (now.isLive(id) || now.ownerHeld(id)) throw new Error(`container ${id.slice(0, 12)} runs now`);
      removeCgroup(f.object);
      try {
        fs.rmdirSync(path.dirname(f.object)); // the shared box/ parent, once no container uses it
      } catch {
        /* another container's cgroup is in it */
      }
    } finally {
      if (lock !== 'absent') lock.release();
    }
  },
};
