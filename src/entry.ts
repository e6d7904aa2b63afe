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
  command().then(
    (code) => {
      mark('exit');
      flushTrace();
      process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`box: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(125);
    },
  );
}

/**
 * Calls `made` with process.stdout or process.stderr when the command first uses it, not before:
 * making the stream loads Node's net, tty and stream modules (~1.9 ms of CPU for both on pipes),
 * which a command writing through fs (a detached start's id, warnings) never needs.
 */
function onceMade(name: 'stdout' | 'stderr', made: (stream: NodeJS.WriteStream) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, name);
  if (!own?.get || !own.configurable) {
    made(process[name]);
    return;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      Object.defineProperty(process, name, own); // Node's getter again: it keeps the stream it made
      const stream = process[name];
      made(stream);
      return stream;
    },
  });
}
