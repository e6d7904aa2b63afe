// Which process a temporary file belongs to. box has no daemon, so a `box` killed half-way leaves
// its work files behind and nobody is there to say they are dead. Each temporary name therefore
// carries its writer's token, "<pid>.<start time>" (the start time in clock ticks since boot, from
// /proc/<pid>/stat): the writer is alive exactly while a process with that pid and that start
// time exists, so a pid reused by another process never keeps a dead writer's files alive.
import * as fs from 'node:fs';

let mine: string | undefined;

/** Start time (field 22 of /proc/PID/stat) and whether the process is a zombie; undefined if gone. */
function statOf(pid: string): { start: string; zombie: boolean } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { start: fields[19], zombie: fields[0] === 'Z' || fields[0] === 'X' };
}

/** This process's token, "<pid>.<start time>". */
export function ownerToken(): string {
  mine ??= `${process.pid}.${statOf('self')!.start}`;
  return mine;
}

const TOKEN_IN_NAME = /-(\d+)\.(\d+)-[0-9a-f]+$/;

/** The token in a temporary name made by ownedName() ("...-<pid>.<start>-<random hex>"), if any. */
export function ownerOf(name: string): string | undefined {
  const m = TOKEN_IN_NAME.exec(name);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/** `prefix-<token>-<random hex>`: a temporary name that says who is writing it. */
export function ownedName(prefix: string, randomHex: string): string {
  return `${prefix}-${ownerToken()}-${randomHex}`;
}

/** The token of another process, "<pid>.<start time>"; undefined if it is gone. */
export function processToken(pid: number): string | undefined {
  const s = statOf(String(pid));
  return s && !s.zombie ? `${pid}.${s.start}` : undefined;
}

/** Whether the process a token names still runs (a zombie writes nothing more: it counts as dead). */
export function ownerAlive(token: string): boolean {
  const [pid, start] = token.split('.');
  const s = statOf(pid);
  return s !== undefined && !s.zombie && s.start === start;
}
