// `box volume prune [-a] [--filter label=...]`: removes unused anonymous volumes (with -a every unused one).
import { BoxError } from '../../errors';
import { PruneFilter, pruneVolumes } from '../../volume/manage';
import { bool, CommandSpec, list } from '../args';
import { roots } from '../context';
import { humanSize } from '../format';

function pruneFilter(all: boolean, items: string[]): PruneFilter {
  const filter: PruneFilter = { all, labels: [] };
  for (const item of items) {
    const m = /^(label!?)=([^=]+)(?:=(.*))?$/.exec(item);
    if (m) filter.labels.push({ key: m[2], value: m[3], negate: m[1] === 'label!' });
    else if (item === 'all=true' || item === 'all=1') filter.all = true;
    else
      throw new BoxError(
        `invalid filter "${item}": volume prune takes label=KEY[=VALUE], label!=KEY[=VALUE], all=true`,
      );
  }
  return filter;
}

export const volumePruneCommand: CommandSpec = {
  paths: [['volume', 'prune']],
  summary: 'Remove unused anonymous volumes (with -a every volume no container uses).',
  flags: [
    {
      names: ['--all', '-a'],
      key: 'all',
      kind: 'bool',
      description: 'remove named volumes too, not only anonymous ones',
    },
    {
      names: ['--filter'],
      key: 'filter',
      kind: 'list',
      value: 'label=KEY[=VALUE]',
      description: 'only matching volumes',
    },
    {
      names: ['--force', '-f'],
      key: 'force',
      kind: 'bool',
      description: 'do not ask for confirmation (box never asks)',
    },
  ],
  positionals: [],
  async run(a) {
    const res = await pruneVolumes(roots(), pruneFilter(bool(a, 'all'), list(a, 'filter')));
    let text = '';
    if (res.removed.length) text += `Deleted Volumes:\n${res.removed.map((n) => n + '\n').join('')}\n`;
    text += `Total reclaimed space: ${humanSize(res.bytes)}\n`;
    process.stdout.write(text);
    return 0;
  },
};
