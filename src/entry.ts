// What both entry points of the executable do around their command (main.ts: box; runc-main.ts:
// box-runc): a reader that went away ends box quietly, and the command's status is the exit status.
import { flushTrace, mark } from './util/trace';

export function runEntry(command: () => Promise<number>): void {
  // A reader that went away (`box logs X | head -1`) ends box quietly, as it ends other CLIs (Docker's
  // dies of SIGPIPE, which Node ignores): no stack trace, exit status 141, a SIGPIPE death's in a shell.
  for (const name of ['stdout', 'stderr'] as const) {
    onceMade(name, (stream) =>
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(141);
        throw err;
      }),
    );
  }
  onceMade('stdin', () => undefined); // a terminal's mode is Node's to restore at exit
  command().then(
    (code) => {
      mark('exit');
      flushTrace();
      if (!streamMade) exitAfterListeners();
      process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`box: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(125);
    },
  );
}

/** Whether process.stdin, stdout or stderr was made: Node may have changed its fd's flags or mode then. */
let streamMade = false;

/**
 * With koffi loaded, the process ends right after the 'exit' listeners (this one is the last: none
 * is added once the command is done) with _exit(2): what Node does after them cost ~1 ms of CPU
 * (a run -d's, 2026-12-05), all of it clean-up the kernel does anyway, but restoring the flags
 * of stdio whose stream Node made (O_NONBLOCK on a pipe): not taken then. Without koffi, loading
 * it would cost more.
 */
function exitAfterListeners(): void {
  const ffi = require('./linux/ffi') as typeof import('./linux/ffi');
  if (ffi.koffiLoaded()) process.once('exit', (code) => ffi.exitNow(code));
}

/**
 * Calls `made` with process.stdout, stderr or stdin when the command first uses it, not before:
 * making the stream loads Node's net, tty and stream modules (~1.9 ms of CPU for stdout and stderr
 * on pipes), which a command writing through fs (a detached start's id, warnings) never needs.
 */
function onceMade<N extends 'stdin' | 'stdout' | 'stderr'>(name: N, made: (stream: NodeJS.Process[N]) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, name);
  if (!own?.get || !own.configurable) {
    streamMade = true;
    made(process[name]);
    return;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      streamMade = true;
      Object.defineProperty(process, name, own); // Node's getter again: it keeps the stream it made
      const stream = process[name];
      made(stream);
      return stream;
    },
  });
}
