// Running a short, latency-bound piece of work ahead of the host's other processes: the calling
// thread's nice value is lowered for it and set back after. On Linux a nice value is per thread,
// and threads made meanwhile (vm's watchdog) inherit it. Lowering it needs root (CAP_SYS_NICE):
// without it the work runs at the priority it had.
import * as os from 'node:os';

/** Runs `fn` with the calling thread's nice value lowered to `nice` (when it is higher). */
export function runAhead<T>(nice: number, fn: () => T): T {
  let before: number | undefined;
  try {
    const current = os.getPriority(0);
    if (current > nice) {
      os.setPriority(0, nice);
      before = current;
    }
  } catch {
    // not allowed: it runs at the priority it had
  }
  try {
    return fn();
  } finally {
    if (before !== undefined) os.setPriority(0, before); // raising it back needs no privilege
  }
}
