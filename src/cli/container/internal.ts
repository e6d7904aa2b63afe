// `box internal`, hidden: the callbacks of a container's monitor (exit, restart after back-off).
import { assetPath } from '../../assets';
import { layout } from '../../paths';
import { onContainerExited, restartAfterBackoff } from '../../runtime/detach';
import { CommandSpec } from '../args';
import { roots } from '../context';

export const internalCommand: CommandSpec = {
  paths: [['internal']],
  summary: "(internal) called by a container's monitor when the container has exited, and after a restart back-off.",
  flags: [],
  positionals: [{ name: 'EVENT' }, { name: 'ID' }],
  async run(a) {
    const [event, id] = a.positionals;
    if (event === 'restart') return restartAfterBackoff(roots(), id);
    const helper = assetPath('box-helper', layout.cache(roots()));
    process.stdout.write((await onContainerExited(roots(), id, helper)) + '\n');
    return 0;
  },
};
