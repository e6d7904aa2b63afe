// Entry point of the box executable (bundled by esbuild into one CommonJS file, then made into a
// single executable with Node's SEA support). Kept tiny so that start-up only loads what the
// chosen command needs.
import * as path from 'node:path';
import { runCli } from './cli/index';
import { flushTrace, mark } from './util/trace';

mark('main');
// A reader that went away (`box logs X | head -1`) ends box quietly, as it ends other CLIs (Docker's
// dies of SIGPIPE, which Node ignores): no stack trace, exit status 141, a SIGPIPE death's in a shell.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
}
// Run through a link named box-runc, box is an OCI runtime with runc's command line (src/cli/oci/).
const asRunc = path.basename(process.argv0) === 'box-runc';
(asRunc
  ? (require('./cli/oci') as typeof import('./cli/oci')).runOci(process.argv.slice(2), 'box-runc')
  : runCli(process.argv.slice(2))
).then(
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
