// `box internal`, hidden: the callbacks of a container's monitor (exit, restart after back-off).
import { assetPath } from '../../assets';
import { BoxError } from '../../errors';
import { layout } from '../../paths';
import { onContainerExited, restartAfterBackoff } from '../../runtime/detach';
import { rootExistedAtStart } from '../../util/root-identity';
import { CommandSpec } from '../args';
import { roots } from '../context';

export const internalCommand: CommandSpec = {
  paths: [['internal']],
  summary: "(internal) called by a container's monitor when the container has exited, and after a restart back-off.",
  flags: [],
  positionals: [{ name: 'EVENT' }, { name: 'ID' }],
  async run(a) {
    const [event, id] = a.positionals;
    // spawned for a container of an existing root: a root deleted meanwhile has nothing left to do,
    // and making anything for it again (its directories, its bridge) would leak
    if (!rootExistedAtStart(roots())) throw new BoxError(`the storage root ${roots().root} is gone: nothing to do`);
    if (event === 'restart') return restartAfterBackoff(roots(), id);
    const helper = assetPath('box-helper', layout.cache(roots()));
    process.stdout.write((await onContainerExited(roots(), id, helper)) + '\n');
    return 0;
  },
};
