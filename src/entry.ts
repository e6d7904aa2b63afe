// What both entry points of the executable do around their command (main.ts: box; runc-main.ts:
// box-runc): a reader that went away ends box quietly, and the command's status is the exit status.
import { flushTrace, mark } from './util/trace';

export function runEntry(command: () => Promise<number>): void {
  // A reader that went away (`box logs X | head -1`) ends box quietly, as it ends other CLIs (Docker's
  // dies of SIGPIPE, which Node ignores): no stack trace, exit status 141, a SIGPIPE death's in a shell.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(141);
      throw err;
    });
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
