// `box rm`: removing containers (a running one only with --force, which kills it first).
import { ContainerStore, DamagedRecordError, isDamaged } from '../../runtime/containers';
import { removeContainer, removeDamaged } from '../../runtime/lifecycle';
import { bool, CommandSpec } from '../args';
import { roots } from '../context';

export const rmCommand: CommandSpec = {
  paths: [['rm'], ['container', 'rm']],
  summary: 'Remove containers (a running one only with --force, which kills it first).',
  flags: [
    { names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'kill and remove a running container' },
    {
      names: ['--volumes', '-v'],
      key: 'volumes',
      kind: 'bool',
      description: 'remove its anonymous volumes too (named ones stay)',
    },
  ],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const store = new ContainerStore(roots());
    store.sweep();
    let code = 0;
    for (const q of a.positionals) {
      const c = store.lookup(q);
      if (!c) {
        process.stderr.write(`box: no such container: ${q}\n`);
        code = 1;
        continue;
      }
      if (isDamaged(c) && !bool(a, 'force')) throw new DamagedRecordError(c);
      if (isDamaged(c)) await removeDamaged(roots(), store, c);
      else await removeContainer(roots(), store, c, bool(a, 'force'), bool(a, 'volumes'));
      process.stdout.write(q + '\n');
    }
    return code;
  },
};
