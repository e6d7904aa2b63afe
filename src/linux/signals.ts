// Signal names as users and images give them (`--stop-signal`, an image's StopSignal, `kill -s`,
// health actions): TERM, SIGTERM, 15, and the real-time ones systemd images use (SIGRTMIN+3).
// One parser, so a signal box accepts in one place works in every other.
import * as os from 'node:os';
import { BoxError } from '../errors';

// glibc's values on Linux: the kernel's 32 and 33 are kept for the C library's threads.
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** The signal number of a name or number, or undefined when it names no signal. */
export function signalNumber(spec: string): number | undefined {
  const s = spec.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= SIGRTMAX ? n : undefined;
  }
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '+' ? 1 : -1);
    const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + offset;
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  const known = (os.constants.signals as Record<string, number | undefined>)[name];
  return known !== undefined && name !== 'SIGUNUSED' ? known : undefined;
}

/** signalNumber, or a one-line error naming where the signal came from (`--stop-signal`). */
export function parseSignal(spec: string, what: string): number {
  const n = signalNumber(spec);
  if (n === undefined)
    throw new BoxError(
      `invalid ${what} "${spec}": use a signal name (TERM, SIGKILL, SIGRTMIN+3) or a number from 1 to ${SIGRTMAX}`,
    );
  return n;
}
