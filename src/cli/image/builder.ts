// `box builder prune`: forgets `box build`'s cache and removes the layers only it kept.
import { pruneBuildCache } from '../../build/prune';
import { CommandSpec } from '../args';
import { roots } from '../context';
import { FORCE_FLAG, pruneReport } from './prune';

export const builderPruneCommand: CommandSpec = {
  paths: [['builder', 'prune']],
  summary: "Remove box build's cache (every record: the next build runs every step).",
  flags: [
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'accepted: box always removes it all' },
    FORCE_FLAG,
  ],
  positionals: [],
  async run() {
    const res = await pruneBuildCache(roots());
    process.stdout.write(pruneReport([{ heading: 'Deleted build cache objects', lines: res.keys }], res.bytes));
    return 0;
  },
};
