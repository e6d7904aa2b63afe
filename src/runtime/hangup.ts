// A foreground `box run -t` whose terminal hangs up (an ssh session dropped, a terminal window
// closed). Docker's and podman's clients end their attach then and leave the container to their
// daemon or conmon; a box foreground container lives no longer than its `box run` (README), so its
// end is decided here: the hangup's SIGHUP reaches the container's PID 1 as any SIGHUP sent to box
// does (runtime/helper.ts), and a container still there after the stop timeout (a PID 1 without a
// handler for SIGHUP ignores it) is killed, as `box stop` would, rather than left waiting for ever
// for a terminal nobody can type on.
import * as fs from 'node:fs';
import { dup2 } from '../linux/syscalls';

/** node:tty's isatty, loaded on first use: node:tty loads net, which a detached start never needs. */
function isatty(fd: number): boolean {
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}

/** `box stop`'s default wait between the signal and SIGKILL. */
export const HANGUP_STOP_MS = 10_000;

/**
 * Calls `kill` HANGUP_STOP_MS after a SIGHUP that comes with box's terminal (fd 0) hung up; a SIGHUP
 * someone sends while the terminal is there is only forwarded. Returns what stops the watch.
 */
export function watchHangup(kill: () => void): () => void {
  if (!isatty(0)) return () => undefined; // no terminal of its own to lose
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  let timer: NodeJS.Timeout | undefined;
  const onSighup = () => {
    // a hung-up terminal is no terminal any more: its ioctls (isatty's) fail with EIO
    if (timer || isatty(0)) return;
    timer = setTimeout(kill, HANGUP_STOP_MS);
    detachStdio(terminals);
  };
  process.on('SIGHUP', onSighup);
  return () => {
    process.off('SIGHUP', onSighup);
    clearTimeout(timer);
  };
}

/**
 * /dev/null in place of box's hung-up terminal (those of `fds` that were one and are no more;
 * a file or pipe stays): nothing written after (a warning) fails, and Node's exit, which restores
 * a terminal's modes on its stdio and aborts when that fails (EIO), finds another file there.
 */
function detachStdio(fds: number[]): void {
  const devNull = fs.openSync('/dev/null', 'r+');
  try {
    for (const fd of fds) if (!isatty(fd)) dup2(devNull, fd);
  } finally {
    fs.closeSync(devNull);
  }
}
