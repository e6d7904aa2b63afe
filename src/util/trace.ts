// BOX_TRACE=1 prints where a command's time goes, from the exec of the process to its exit, so
// start-up latency can be explained, not guessed. Costs one property read when off.
//
// The times are milliseconds since the exec. Node's clock (performance.now()) starts inside
// node's main(), after the dynamic loader and before OpenSSL, V8 and Node's own bootstrap; the
// exec itself is known to the kernel (/proc/self/stat's starttime, in clock ticks: 10 ms steps)
// or, exactly, to the caller: BOX_TRACE_T0 is its CLOCK_MONOTONIC time in nanoseconds (the clock
// of process.hrtime) when it spawned box, as the benchmark sets it.
import * as fs from 'node:fs';
import { writeStderr } from './stderr';

/** BOX_TRACE=1, read at the first mark (not at load: the startup snapshot loads this module at build time). */
let enabled: boolean | undefined;
/** label, ms since Node's time origin, this process's CPU time so far (user + system, ms) */
const marks: [string, number, number][] = [];
/** How many modules Node had loaded when box's bundle began: the rest are box's doing. */
const modulesBeforeBox = loadedModules().length;

const tracing = (): boolean => (enabled ??= process.env.BOX_TRACE === '1');

/** Node's loaded modules (an undocumented but stable list: "NativeModule fs", "Internal Binding fs"...). */
function loadedModules(): string[] {
  return (process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [];
}

/** The public Node built-ins box loaded (each costs start-up CPU: the start path should load few). */
function builtinsLoadedByBox(): string[] {
  return loadedModules()
    .slice(modulesBeforeBox)
    .filter((m) => m.startsWith('NativeModule ') && !m.startsWith('NativeModule internal/'))
    .map((m) => m.slice('NativeModule '.length));
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function mark(label: string): void {
  if (tracing()) marks.push([label, performance.now(), cpuMs()]);
}

/** Milliseconds from the exec to Node's time origin, and whether the caller's spawn time gave it. */
function execToOrigin(): { ms: number; exact: boolean } {
  const originNs = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
  const t0 = process.env.BOX_TRACE_T0;
  if (t0 && /^\d+$/.test(t0)) return { ms: Number(originNs - BigInt(t0)) / 1e6, exact: true };
  try {
    // field 22 (starttime), counted after the command name, which may hold spaces and parentheses
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    // the boot-time clock of starttime equals the monotonic one unless the machine was suspended
    return { ms: Math.max(0, Number(originNs) / 1e6 - startTicks * 10), exact: false };
  } catch {
    return { ms: 0, exact: false };
  }
}

/** Node's own start-up, before any of box's code runs (performance.nodeTiming). */
function nodeMarks(): [string, number][] {
  const t = performance.nodeTiming;
  return [
    ['node: V8 started (OpenSSL, ICU, CA certificates before it)', t.v8Start],
    ['node: environment created', t.environment],
    ['node: bootstrap complete', t.bootstrapComplete],
  ];
}

/** Where src/boot.ts leaves its own steps, taken before the bundle runs (the executable only). */
const BOOT_MARKS = Symbol.for('box.trace.bootMarks');

/** The executable's own steps before the bundle runs: reading it and its code cache, compiling it. */
function bootMarks(): [string, number, number][] {
  return (globalThis as { [BOOT_MARKS]?: [string, number, number][] })[BOOT_MARKS] ?? [];
}

export function flushTrace(): void {
  if (!tracing() || marks.length === 0) return;
  const exec = execToOrigin();
  const all: [string, number, number?][] = [
    [exec.exact ? 'spawned by the caller (BOX_TRACE_T0)' : 'exec (kernel start time, 10 ms steps)', -exec.ms],
    ['node: main() (dynamic loading before it)', 0],
    ...nodeMarks(),
    ...bootMarks(),
    ...marks.map(([label, t, cpu]): [string, number, number] => [
      label === 'main' ? 'box: bundle loaded (main)' : label,
      t,
      cpu,
    ]),
  ];
  let prev = -exec.ms;
  const lines = all.map(([label, t, cpu]) => {
    const since = t + exec.ms;
    const cpuColumn = cpu === undefined ? '' : `  [cpu ${cpu.toFixed(3)}]`;
    // to the microsecond, like the CPU: a step's wall time beyond its CPU time is a wait, and a
    // policy's steps last 0.01-0.3 ms
    const line = `  ${since.toFixed(3).padStart(9)} ms  +${(t - prev).toFixed(3).padStart(7)}  ${label}${cpuColumn}`;
    prev = t;
    return line;
  });
  const cpu = process.cpuUsage();
  lines.push(`  cpu: user ${(cpu.user / 1000).toFixed(3)} ms, system ${(cpu.system / 1000).toFixed(3)} ms (box only)`);
  lines.push(`  node built-ins loaded by box: ${builtinsLoadedByBox().join(' ')}`);
  // through fs: making process.stderr would load net, tty and streams after the last step (~1 ms)
  writeStderr(`box trace:\n${lines.join('\n')}\n`);
}
