// `box system prune [-a] [--volumes] [--filter] [-f]`: every reclaimer in Docker's order
// (stopped containers, unused networks, with --volumes unused anonymous volumes, dangling or with
// -a unused images, build cache), then the space all of them freed.
import { Pruned, RECLAIMERS } from '../../runtime/reclaim';
import { bool, CommandSpec, list } from '../args';
import { roots } from '../context';
import { FORCE_FLAG, PRUNE_FILTER_FLAG, pruneReport } from '../image/prune';

export const systemPruneCommand: CommandSpec = {
  paths: [['system', 'prune']],
  summary: 'Remove stopped containers, unused images (dangling ones, or with -a all) and other unused data.',
  flags: [
    {
      names: ['--all', '-a'],
      key: 'all',
      kind: 'bool',
      description: 'remove every unused image, not only dangling ones',
    },
    { names: ['--volumes'], key: 'volumes', kind: 'bool', description: 'remove unused anonymous volumes too' },
    PRUNE_FILTER_FLAG,
    FORCE_FLAG,
  ],
  positionals: [],
  async run(a) {
    const r = roots();
    const opts = { all: bool(a, 'all'), volumes: bool(a, 'volumes'), filters: list(a, 'filter') };
    const done: Pruned[] = [];
    for (const reclaimer of RECLAIMERS) if (reclaimer.inSystemPrune(opts)) done.push(await reclaimer.prune(r, opts));
    process.stdout.write(
      pruneReport(
        done,
        done.reduce((sum, p) => sum + p.bytes, 0),
      ),
    );
    return 0;
  },
};
