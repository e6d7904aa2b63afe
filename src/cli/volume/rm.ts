// `box volume rm [-f] VOLUME...`: refused while a container uses the volume (even with -f, as Docker).
import { removeVolumes } from '../../volume/manage';
import { bool, CommandSpec } from '../args';
import { roots } from '../context';
import { printable } from '../../util/printable';

export const volumeRmCommand: CommandSpec = {
  paths: [
    ['volume', 'rm'],
    ['volume', 'remove'],
  ],
  summary: 'Remove volumes (not one a container uses).',
  flags: [
    { names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'no error for a volume that does not exist' },
  ],
  positionals: [{ name: 'VOLUME', rest: true }],
  async run(a) {
    const { removed, failures } = await removeVolumes(roots(), a.positionals, bool(a, 'force'));
    process.stdout.write(removed.map((n) => printable(n) + '\n').join(''));
    for (const f of failures) process.stderr.write(`box: ${printable(f)}\n`);
    return failures.length ? 1 : 0;
  },
};
