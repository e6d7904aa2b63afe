// Fault injection: SIGKILL of `box`, of the helper, of the monitor or of the exit callback at a
// delay into an operation, then only what a user would do (`box ps -a`, `box rm -f` of everything
// listed, an image operation run again, `box rmi -f` of every image), then an inventory from the
// kernel's view and the store's (test/support/inventory.ts): of what nobody owns before the rmi
// (whose garbage collection would hide it), and of everything after. Each round uses a fresh
// copy of a prepared root, so what one round leaves never hides or causes another's. Used by
// test/integration/faults.test.ts: a short matrix in the suite, the long one with FAULTS=long
// (`BENCH_ONLY=faults npm run bench`).
import { ChildProcess, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BOX,
  busyboxTarball,
  cgroupDirsOf,
  exitOf,
  helperProcesses,
  idsEverCreated,
  importBusybox,
  parentOf,
  TestRoot,
} from './box';
import { inventoryAfterRemoval, storeLeftovers } from './inventory';
import { Registry, startRegistry, stopRegistry } from './registry';

export type Victim = 'box' | 'helper' | 'monitor' | 'callback';

/** An operation: its setup in the round's root, then the commands it runs one after the other. */
export interface Operation {
  name: string;
  victims: Victim[];
  /** the prepared root it starts from: busybox only, or busybox and the 16 MiB image big:1 */
  base: 'busybox' | 'big';
  /** an image operation: the user runs it again after the kill (the next command taking the store's lock) */
  retried?: boolean;
  commands(t: TestRoot, fx: Fixtures): string[][];
}

export interface Fixtures {
  /** a 16 MiB root filesystem tarball (busybox and random files) */
  bigTar: string;
  /** big:1 saved by box save */
  archive: string;
  /** big:1 pushed to the local registry */
  pullRef: string;
}

/** A running container made for the operation to act on (recovered like everything else). */
function detached(t: TestRoot): string {
  const r = t.box(['run', '-d', 'busybox', 'sleep', '1000']);
  if (r.status !== 0) throw new Error(`setup run -d failed: ${r.stderr}`);
  return r.stdout.trim();
}

type Commands = Operation['commands'];
const op = (name: string, victims: Victim[], commands: Commands, more: Partial<Operation> = {}): Operation => ({
  name,
  victims,
  commands,
  base: 'busybox',
  ...more,
});

export const OPERATIONS: Operation[] = [
  op('run -d', ['box', 'helper', 'monitor'], () => [['run', '-d', 'busybox', 'sleep', '1000']]),
  op('run --rm', ['box', 'helper'], () => [['run', '--rm', 'busybox', 'sleep', '1']]),
  op('create+start', ['box', 'helper', 'monitor'], () => [
    ['create', '--name', 'c1', 'busybox', 'sleep', '1000'],
    ['start', 'c1'],
  ]),
  op('stop', ['box', 'monitor', 'callback'], (t) => [['stop', '-t', '1', detached(t)]]),
  op('rm -f', ['box', 'monitor', 'callback'], (t) => [['rm', '-f', detached(t)]]),
  op('exec', ['box', 'helper', 'monitor'], (t) => [['exec', detached(t), 'sleep', '0.3']]),
  op('import', ['box'], (_t, fx) => [['import', fx.bigTar, 'big:2']], { retried: true }),
  op('load', ['box'], (_t, fx) => [['load', '-i', fx.archive]], { retried: true }),
  op('pull', ['box'], (_t, fx) => [['pull', '-q', fx.pullRef]], { retried: true }),
  op('rmi', ['box'], () => [['rmi', 'big:1']], { retried: true, base: 'big' }),
];

export interface Round {
  op: string;
  victim: Victim;
  delayMs: number;
  /** whether the victim existed at (or after) the delay and was killed */
  killed: boolean;
  /** what was left after the recovery, and commands that ran over 10 s or never returned */
  left: string[];
  /** the slowest recovery command and its time */
  slowest: { command: string; ms: number };
}

/** A command that takes longer than this is a finding (the goal: every recovery command returns within 10 s). */
export const RECOVERY_LIMIT_MS = 10_000;
/** How long a command may run before the harness gives up on it (and kills it). */
const HANG_MS = 12_000;

/** The prepared roots, fixtures and local registry shared by every round. */
export class FaultBench {
  private dir = fs.mkdtempSync('/tmp/box-faults-');
  private bases: Record<Operation['base'], TestRoot> = {
    busybox: new TestRoot('box-faults-base-'),
    big: new TestRoot('box-faults-big-'),
  };
  private registry: Registry | undefined;
  fixtures!: Fixtures;
  durations = new Map<string, number>();

  async prepare(): Promise<void> {
    const big = path.join(this.dir, 'big.tar');
    const tree = path.join(this.dir, 'big');
    fs.mkdirSync(path.join(tree, 'data'), { recursive: true });
    for (let i = 0; i < 16; i++) fs.writeFileSync(path.join(tree, 'data', `f${i}`), crypto.randomBytes(1 << 20));
    mustRun('tar', ['-C', tree, '-xf', busyboxTarball(this.dir)]);
    mustRun('tar', ['--numeric-owner', '-C', tree, '-cf', big, '.']);
    fs.rmSync(tree, { recursive: true, force: true });
    importBusybox(this.bases.busybox);
    importBusybox(this.bases.big);
    boxOk(this.bases.big, ['import', big, 'big:1']);
    const archive = path.join(this.dir, 'big-save.tar');
    boxOk(this.bases.big, ['save', '-o', archive, 'big:1']);
    this.registry = await startRegistry(path.join(this.dir, 'registry'));
    const pullRef = `${this.registry.host}/faults/big:1`;
    boxOk(this.bases.big, ['tag', 'big:1', pullRef]);
    boxOk(this.bases.big, ['push', pullRef]);
    boxOk(this.bases.big, ['rmi', pullRef]);
    this.fixtures = { bigTar: big, archive, pullRef };
  }

  async close(): Promise<void> {
    if (this.registry) await stopRegistry(this.registry);
    for (const b of Object.values(this.bases)) b.cleanup();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A fresh root, a copy of the operation's prepared one. */
  private freshRoot(op: Operation): TestRoot {
    const t = new TestRoot('box-fault-');
    mustRun('cp', ['-a', this.bases[op.base].root, t.root]);
    return t;
  }

  /**
   * The operation's duration unkilled, the shorter of two runs (a busy machine stretches one run
   * at random, and delays past the real end kill nothing): the delays are spread over it.
   */
  measure(op: Operation): number {
    const known = this.durations.get(op.name);
    if (known !== undefined) return known;
    const once = () => {
      const t = this.freshRoot(op);
      try {
        const cmds = op.commands(t, this.fixtures);
        const start = Date.now();
        for (const c of cmds) boxOk(t, c);
        return Date.now() - start;
      } finally {
        t.cleanup();
      }
    };
    const ms = Math.min(once(), once());
    this.durations.set(op.name, ms);
    return ms;
  }

  /** `count` delays spread evenly over the operation's duration (at the middle of each slice). */
  delays(op: Operation, count: number): number[] {
    const d = this.measure(op);
    return Array.from({ length: count }, (_, i) => Math.round((d * (i + 0.5)) / count));
  }

  /** One round: the operation, its victim killed at the delay, the recovery, the inventory. */
  async round(op: Operation, victim: Victim, delayMs: number): Promise<Round> {
    const t = this.freshRoot(op);
    const left: string[] = [];
    let killed = false;
    let slowest = { command: '', ms: 0 };
    try {
      const cmds = op.commands(t, this.fixtures);
      const start = Date.now();
      for (const argv of cmds) {
        const child = t.start(argv);
        child.stdin!.end();
        const exited = exitOf(child);
        let done = false;
        void exited.then(() => (done = true));
        // Kill the victim at the delay, or at its first sight after it while the command runs.
        await within(exited, start + delayMs - Date.now());
        // A monitor outlives its command: looked for once more when the command ended first.
        for (let last = false; !killed && !last; ) {
          last = done;
          const pid = victimPid(t, victim, child);
          if (pid !== undefined && killPid(pid)) {
            killed = true;
          } else if (!last) {
            await within(exited, 2);
          }
        }
        const r = await within(exited, HANG_MS);
        if (r === 'timeout') {
          left.push(`box ${argv.join(' ')} did not return within ${HANG_MS / 1000} s`);
          child.kill('SIGKILL');
          await exited;
        }
        if (killed) break;
      }
      // The user's recovery: list, remove everything listed, remove every image.
      const timed = (args: string[]) => {
        const t0 = Date.now();
        const r = spawnSync(BOX, t.args(args), { encoding: 'utf8', timeout: HANG_MS });
        const ms = Date.now() - t0;
        if (ms > slowest.ms) slowest = { command: args.join(' '), ms };
        if (r.signal) left.push(`box ${args.join(' ')} did not return within ${HANG_MS / 1000} s`);
        else if (ms > RECOVERY_LIMIT_MS) left.push(`box ${args.join(' ')} took ${ms} ms`);
        return r;
      };
      const ids = timed(['ps', '-a', '-q']).stdout.split('\n').filter(Boolean);
      if (ids.length) timed(['rm', '-f', ...ids]);
      // What the store holds that nothing owns, after the next store-locking command (the killed
      // image operation retried), before garbage collection (rmi) could hide it.
      if (op.retried) {
        for (const argv of cmds) timed(argv);
        left.push(...(await settle(() => storeLeftovers(t), 5_000)).map((l) => `before rmi: ${l}`));
      }
      const images = timed(['images', '-q']).stdout.split('\n').filter(Boolean);
      if (images.length) timed(['rmi', '-f', ...new Set(images)]);
      // Exit callbacks of the removed containers may still be finishing: allow them a bounded moment.
      left.push(...(await settle(() => inventoryAfterRemoval(t), 5_000)));
    } catch (err) {
      left.push(`harness: ${(err as Error).message}`);
    } finally {
      await removeWhatBoxCouldNot(t);
    }
    return { op: op.name, victim, delayMs, killed, left, slowest };
  }
}

/** The pid of the victim now, if there is one. */
function victimPid(t: TestRoot, victim: Victim, box: ChildProcess): number | undefined {
  const running = box.exitCode === null && box.signalCode === null;
  if (victim === 'box') return running ? box.pid : undefined; // never a pid the kernel may have given to another
  const helpers = helperProcesses(t);
  if (victim === 'helper') return running ? helpers.find((p) => parentOf(p) === box.pid) : undefined;
  if (victim === 'monitor') return helpers.find((p) => parentOf(p) !== box.pid && !helpers.includes(parentOf(p) ?? -1));
  return callbackProcesses(t)[0];
}

/** Exit callbacks of this root's containers (`box ... internal exited ID`, run by a monitor). */
function callbackProcesses(t: TestRoot): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.includes(t.root) && argv.includes('internal')) out.push(Number(p));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Processes of this root still running after a round (found by their command lines), killed by pid. */
function killProcessesOf(t: TestRoot): void {
  for (const pid of [...helperProcesses(t), ...callbackProcesses(t)]) killPid(pid);
}

/**
 * After each round, what box could not remove goes by other means: the root's
 * processes (helpers, callbacks, the containers' own) by pid, its containers' cgroups, and its
 * records (so TestRoot.cleanup does not wait on an `rm -f` that never returns).
 */
async function removeWhatBoxCouldNot(t: TestRoot): Promise<void> {
  killProcessesOf(t);
  for (const id of idsEverCreated(t)) {
    for (const dir of cgroupDirsOf(id)) {
      const procs = () => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      for (const pid of procs()) killPid(Number(pid));
      await settle(procs, 2_000);
      try {
        fs.rmdirSync(dir);
      } catch {
        /* reported by the inventory already */
      }
    }
  }
  fs.rmSync(path.join(t.root, 'containers'), { recursive: true, force: true });
  t.cleanup();
}

/** SIGKILL; false when the process was gone already. */
function killPid(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Polls `get` until it returns nothing or `ms` passed; returns the last answer. */
async function settle(get: () => string[], ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  let v = get();
  while (v.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = get();
  }
  return v;
}

function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function mustRun(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

function boxOk(t: TestRoot, args: string[]): string {
  const r = t.box(args);
  if (r.status !== 0) throw new Error(`box ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** One line per round: operation, victim, delay, and what was left (or "clean"). */
export function describeRound(r: Round): string {
  const what = r.left.length ? `LEFT ${r.left.length}: ${r.left.join('; ')}` : 'clean';
  const kill = r.killed ? '' : ' (victim never seen)';
  const slowest = `slowest ${r.slowest.command.split(' ')[0]} ${r.slowest.ms} ms`;
  return `${r.op.padEnd(12)} ${r.victim.padEnd(8)} ${String(r.delayMs).padStart(5)} ms${kill}  ${slowest}  ${what}`;
}
