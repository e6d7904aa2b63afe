// `box rename`: a container's new name.
import { CommandSpec } from '../args';
import { roots } from '../context';
import { lookup, store } from './common';

export const renameCommand: CommandSpec = {
  paths: [['rename'], ['container', 'rename']],
  summary: 'Rename a container.',
  flags: [],
  positionals: [{ name: 'CONTAINER' }, { name: 'NEW_NAME' }],
  async run(a) {
    const { renameContainer } = await import('../../runtime/rename');
    const s = store();
    await renameContainer(roots(), s, lookup(s, a.positionals[0]), a.positionals[1]);
    return 0;
  },
};
