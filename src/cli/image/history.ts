// `box history`: an image's history, one row per step.
import { ImageStore } from '../../image/store';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { humanSize, table, timeAgo } from '../format';
import { mustResolve, shortId } from './common';

export interface HistoryRow {
  id: string; // the image id on the top row, <missing> below, as Docker shows it
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** The image's history, newest first, each entry with the size of the layer it made. */
export function imageHistory(store: ImageStore, id: string): HistoryRow[] {
  const img = store.get(id);
  const diffIds = img.config.rootfs.diff_ids;
  const layerSize = (d: string | undefined) => (d ? Number(store.layerSizeOf(d)) : 0);
  const rows: HistoryRow[] = [];
  const history = img.config.history ?? [];
  let li = 0;
  if (history.length) {
    for (const h of history) {
      const empty = h.empty_layer === true;
      rows.push({
        id: '<missing>',
        created: h.created,
        createdBy: h.created_by ?? '',
        size: empty ? 0 : layerSize(diffIds[li++]),
        comment: h.comment ?? '',
        emptyLayer: empty,
      });
    }
  }
  // Layers the history does not describe (or no history at all).
  for (; li < diffIds.length; li++)
    rows.push({
      id: '<missing>',
      created: img.created,
      createdBy: '',
      size: layerSize(diffIds[li]),
      comment: '',
      emptyLayer: false,
    });
  rows.reverse();
  if (rows.length) rows[0].id = img.id;
  return rows;
}

export const historyCommand: CommandSpec = {
  paths: [['history'], ['image', 'history']],
  summary: 'Show the history of an image.',
  flags: [
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: "don't truncate output" },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show image ids' },
    {
      names: ['--human', '-H'],
      key: 'human',
      kind: 'string',
      value: 'bool',
      description: 'sizes and dates in human-readable form (default true)',
    },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'json',
      description: 'json: one JSON object per line',
    },
  ],
  positionals: [{ name: 'IMAGE' }],
  async run(a) {
    const store = new ImageStore(roots());
    const rows = imageHistory(store, mustResolve(store, a.positionals[0]));
    const noTrunc = bool(a, 'noTrunc');
    const human = str(a, 'human') !== 'false';
    const id = (i: string) => (i === '<missing>' || noTrunc ? i : shortId(i));
    if (bool(a, 'quiet')) {
      process.stdout.write(rows.map((r) => id(r.id) + '\n').join(''));
      return 0;
    }
    if (str(a, 'format') === 'json') {
      for (const r of rows)
        process.stdout.write(
          JSON.stringify({
            ID: r.id,
            CreatedAt: r.created ?? '',
            CreatedBy: r.createdBy,
            Size: r.size,
            Comment: r.comment,
          }) + '\n',
        );
      return 0;
    }
    const by = (s: string) => {
      const flat = s.replace(/[\t\n]/g, ' ');
      return noTrunc || flat.length <= 45 ? flat : flat.slice(0, 44) + '…';
    };
    const body = rows.map((r) => [
      id(r.id),
      human ? timeAgo(r.created) : (r.created ?? ''),
      by(r.createdBy),
      human ? humanSize(r.size) : String(r.size),
      r.comment,
    ]);
    process.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], body));
    return 0;
  },
};
