// Entry point of box run as box-runc (an OCI runtime's command line, src/cli/oci/): a bundle of its
// own, which src/boot.ts runs instead of main.ts's when the executable's name is box-runc. It holds
// the OCI commands' modules only, less than half of box's: an OCI `create` (the one command the
// native helper hands to box) loads and compiles that much less before it starts (build/README.md).
import { runEntry } from './entry';
import { mark } from './util/trace';

export function main(): void {
  mark('main');
  runEntry(() => (require('./cli/oci') as typeof import('./cli/oci')).runOci(process.argv.slice(2), 'box-runc'));
}

// `node dist/box-runc.js ...`: the bundle is node's main module.
if (require.main === module) main();
