// `box container prune [--filter until=|label=] [-f]`: removes every stopped container.
import { pruneContainers } from '../../runtime/container-prune';
import { CommandSpec, list } from '../args';
import { roots } from '../context';
import { FORCE_FLAG, PRUNE_FILTER_FLAG, pruneReport } from '../image/prune';

export const containerPruneCommand: CommandSpec = {
  paths: [['container', 'prune']],
  summary: 'Remove all stopped containers.',
  flags: [PRUNE_FILTER_FLAG, FORCE_FLAG],
  positionals: [],
  async run(a) {
    const res = await pruneContainers(roots(), list(a, 'filter'));
    process.stdout.write(pruneReport([{ heading: 'Deleted Containers', lines: res.removed }], res.bytes));
    return 0;
  },
};
