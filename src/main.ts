// Entry point of the box executable (bundled by esbuild into one CommonJS file, then made into a
// single executable with Node's SEA support). Kept tiny so that start-up only loads what the
// chosen command needs. Run as box-runc, the executable runs runc-main.ts's smaller bundle instead
// (src/boot.ts); this one still answers as box-runc where it runs on its own (node dist/box.js).
//
// Loading the bundle runs nothing: src/boot.ts calls main().
import * as path from 'node:path';
import { runCli } from './cli/index';
import { runEntry } from './entry';
import { mark } from './util/trace';

export function main(): void {
  mark('main');
  // Run through a link named box-runc, box is an OCI runtime with runc's command line (src/cli/oci/).
  const asRunc = path.basename(process.argv0) === 'box-runc';
  runEntry(() =>
    asRunc
      ? (require('./cli/oci') as typeof import('./cli/oci')).runOci(process.argv.slice(2), 'box-runc')
      : runCli(process.argv.slice(2)),
  );
}

// `node dist/box.js ...` (development, tests): the bundle is node's main module.
if (require.main === module) main();
