// box's own processes of this root that serve no live container: monitors and helpers (the root's
// box-helper) whose container is gone or ended (a box-runc one: its directory under the OCI root
// holds no record), restart back-offs (`internal restart ID`) of containers that no longer exist,
// and any of them stopped (state T): a stopped back-off never restarts its container, and a
// SIGTERM sent to it waits for ever (the known leak of `rm -f` of a restarting container whose
// back-off was stopped). A process is kept when its pid is recorded for an existing container or
// its parent is a box command of this root or a kept helper (a foreground `run`, an `exec`, a
// health probe). DNS responders are the dns checker's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMonitorState } from '../monitor-state';
import { CheckContext, persisting } from './context';
import { internalCall, isBoxExecutable, isRootCommand, isRootHelper, killFound, listProcs, Proc } from './procs';
import { Checker, Finding } from './types';

const stopped = (p: Proc) => p.state === 'T' || p.state === 't';

/** The container ids whose cgroup (box/<id>, any hierarchy) the process is in. */
function cgroupIdsOf(pid: number): string[] {
  try {
    return [...fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').matchAll(/\/box\/([0-9a-f]{64})/g)].map((m) => m[1]);
  } catch {
    return [];
  }
}

/** Whether the process or one of its children runs in a live container's cgroup (a detached exec's helper). */
function servesLiveCgroup(ctx: CheckContext, all: Proc[], p: Proc): boolean {
  const pids = [p.pid, ...all.filter((c) => c.ppid === p.pid).map((c) => c.pid)];
  return pids.some((pid) => cgroupIdsOf(pid).some((id) => ctx.isLive(id)));
}

/**
 * Whether the process is the helper or monitor of a box-runc container that has its state: its
 * status events (fd 4, until it started) go to `events` in the container's directory under the OCI
 * root, beside the record create wrote (src/oci/store.ts). One whose directory is gone, or holds no
 * record once no create is running, waits for a go or abort nobody will send.
 */
function servesOciContainer(p: Proc): boolean {
  let events: string;
  try {
    events = fs.readlinkSync(`/proc/${p.pid}/fd/4`);
  } catch {
    return false;
  }
  return path.basename(events) === 'events' && fs.existsSync(path.join(path.dirname(events), 'record.json'));
}

/** Pids the root's records (and their monitors' state files) name: monitors, inits. */
function recordedPids(ctx: CheckContext): Set<number> {
  const out = new Set<number>();
  for (const r of ctx.records()) for (const pid of [r.state.monitorPid, r.state.pid]) if (pid) out.add(pid);
  for (const id of [...ctx.records(), ...ctx.damaged()].map((c) => c.id)) {
    const st = readMonitorState(ctx.roots, id);
    for (const pid of [st.monitorPid, st.pid]) if (pid) out.add(pid);
  }
  return out;
}

function backoffReason(ctx: CheckContext, p: Proc, id: string): string | undefined {
  if (!ctx.exists(id)) return `restart back-off of container ${id.slice(0, 12)}, which does not exist`;
  if (stopped(p)) return `restart back-off of container ${id.slice(0, 12)} is stopped (state T): it never restarts it`;
  return undefined;
}

/**
 * Whether each of the root's helpers serves something, as the process table and the records are
 * now: it is kept if recorded, or if its parent is a running box command or a kept helper.
 */
export function helperKeeper(ctx: CheckContext, all: Proc[] = listProcs()): (p: Proc) => boolean {
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const recorded = recordedPids(ctx);
  const kept = new Map<number, boolean>();
  const isKept = (p: Proc, depth = 0): boolean => {
    if (kept.has(p.pid)) return kept.get(p.pid)!;
    let ok = recorded.has(p.pid) || servesLiveCgroup(ctx, all, p) || servesOciContainer(p);
    const parent = byPid.get(p.ppid);
    if (!ok && parent && depth < 16) {
      if (isRootHelper(ctx.roots, parent)) ok = isKept(parent, depth + 1);
      else if (isRootCommand(ctx.roots, parent) || isBoxExecutable(parent)) {
        ok = !stopped(parent) && internalCall(parent)?.event !== 'dns';
      }
    }
    kept.set(p.pid, ok);
    return ok;
  };
  return (p) => isKept(p);
}

/** The root's processes that serve nothing, as the process table and the records are now. */
function staleProcesses(ctx: CheckContext): Finding[] {
  const all = listProcs();
  const ours = all.filter((p) => isRootHelper(ctx.roots, p) || isRootCommand(ctx.roots, p));
  const isKept = helperKeeper(ctx, all);
  const out: Finding[] = [];
  for (const p of ours) {
    const call = internalCall(p);
    let reason: string | undefined;
    if (call?.event === 'restart') reason = backoffReason(ctx, p, call.arg);
    else if (call?.event === 'dns') continue;
    else if (call && stopped(p)) reason = `box callback (internal ${call.event}) is stopped (state T)`;
    else if (!call && isRootHelper(ctx.roots, p) && !isKept(p)) {
      reason = 'helper or monitor serving no live container' + (stopped(p) ? ' (stopped, state T)' : '');
    }
    if (!reason) continue;
    const command = [p.argv[0], ...(call ? ['internal', call.event, call.arg] : [])].join(' ');
    out.push({ kind: 'process', object: `pid ${p.pid} (${command})`, reason, detail: { pid: p.pid, start: p.start } });
  }
  return out;
}

export const processChecker: Checker = {
  kind: 'process',
  async find(ctx) {
    // a monitor is recorded a moment after it starts: only what stays unaccounted for is reported
    const key = (f: Finding) => `${f.detail!.pid}.${f.detail!.start}`;
    const stillLeft = (found: Finding[]) => {
      const again = new Set(staleProcesses(new CheckContext(ctx.roots)).map(key));
      return found.filter((f) => again.has(key(f)));
    };
    return persisting(staleProcesses(ctx), stillLeft);
  },
  async fix(_ctx, f) {
    killFound(Number(f.detail!.pid), String(f.detail!.start));
  },
};
