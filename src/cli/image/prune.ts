// `box image prune`: removes unused images, then unreferenced layers and blobs.
import { pruneFilter } from '../../runtime/container-filter';
import { pruneImages, pruneLines } from '../../image/prune';
import { ImageStore } from '../../image/store';
import { bool, CommandSpec, list } from '../args';
import { roots } from '../context';
import { humanSize } from '../format';

export const PRUNE_FILTER_FLAG = {
  names: ['--filter'],
  key: 'filter',
  kind: 'list' as const,
  value: 'key=value',
  description: 'until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE]',
};

export const FORCE_FLAG = {
  names: ['--force', '-f'],
  key: 'force',
  kind: 'bool' as const,
  description: 'do not ask for confirmation (box never asks)',
};

/** Docker's report of a prune: the section of what went (if anything did), then the space freed. */
export function pruneReport(sections: { heading: string; lines: string[] }[], bytes: number): string {
  let text = '';
  for (const s of sections) if (s.lines.length) text += `${s.heading}:\n${s.lines.map((l) => l + '\n').join('')}\n`;
  return text + `Total reclaimed space: ${humanSize(bytes)}\n`;
}

export const imagePruneCommand: CommandSpec = {
  paths: [['image', 'prune']],
  summary:
    'Remove unused images: dangling ones, or with -a every image no container uses; ' +
    'then unreferenced layers and blobs.',
  flags: [
    {
      names: ['--all', '-a'],
      key: 'all',
      kind: 'bool',
      description: 'remove every image no container uses, not just dangling ones',
    },
    PRUNE_FILTER_FLAG,
    FORCE_FLAG,
  ],
  positionals: [],
  async run(a) {
    const match = pruneFilter(list(a, 'filter'));
    const res = await pruneImages(new ImageStore(roots()), bool(a, 'all'), (img) =>
      match(img.created ?? '', img.config.config?.Labels ?? {}),
    );
    process.stdout.write(pruneReport([{ heading: 'Deleted Images', lines: pruneLines(res) }], res.gc.bytes));
    return 0;
  },
};
