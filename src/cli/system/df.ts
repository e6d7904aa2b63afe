// `box system df [-v] [--format]`: the space images, containers, volumes and build cache take, and
// how much of it a prune would give back (Docker's rows and columns).
import { ImageStore } from '../../image/store';
import { containerSize } from '../../runtime/container-prune';
import { ContainerStore } from '../../runtime/containers';
import { RECLAIMERS, Usage, USAGE_ORDER } from '../../runtime/reclaim';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { ellipsis, humanSize, table, timeAgo } from '../format';
import { goStruct, headerRow, outputFormat } from '../template';
import { repoOf, shortId } from '../image/common';
import { statusText } from '../container/ps-context';

const DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const DF_HEADER = headerRow('df', {
  Type: 'TYPE',
  TotalCount: 'TOTAL',
  Active: 'ACTIVE',
  Size: 'SIZE',
  Reclaimable: 'RECLAIMABLE',
});

/** Docker's RECLAIMABLE cell: the size, and its share of the total when there is one. */
function reclaimable(u: Usage): string {
  return u.size > 0 ? `${humanSize(u.reclaimable)} (${Math.floor((u.reclaimable * 100) / u.size)}%)` : humanSize(0);
}

function dfRow(u: Usage) {
  return goStruct('df', {
    Type: u.type,
    TotalCount: String(u.total),
    Active: String(u.active),
    Size: humanSize(u.size),
    Reclaimable: reclaimable(u),
  });
}

function verbose(rows: Usage[]): string {
  const r = roots();
  const images = new ImageStore(r).list();
  const store = new ContainerStore(r);
  const containers = store.list();
  const uses = (id: string) => containers.filter((c) => c.config.image.id === id).length;
  const imageRows = images.flatMap((img) =>
    (img.tags.length ? img.tags : ['<none>:<none>']).map((t) => [
      repoOf(t),
      t.slice(t.lastIndexOf(':') + 1),
      shortId(img.id),
      timeAgo(img.created),
      humanSize(img.size),
      String(uses(img.id)),
    ]),
  );
  const containerRows = containers.map((c) => [
    c.id.slice(0, 12),
    c.config.image.ref,
    JSON.stringify(ellipsis(c.config.args.join(' '), 20)),
    humanSize(containerSize(store, c)),
    timeAgo(c.created),
    statusText(c, r),
    c.name,
  ]);
  const cache = rows.find((u) => u.type === 'Build Cache');
  // the sections other kinds give (Local Volumes space usage, ...)
  const details = RECLAIMERS.flatMap((x) => (x.detail ? [x.detail(r)] : [])).flatMap((d) => [
    `${d.title}:\n`,
    table(d.headers, d.rows),
  ]);
  return [
    'Images space usage:\n',
    table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'CONTAINERS'], imageRows),
    'Containers space usage:\n',
    table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'SIZE', 'CREATED', 'STATUS', 'NAMES'], containerRows),
    ...details,
    `Build cache usage: ${humanSize(cache?.size ?? 0)}\n`,
  ].join('\n');
}

export const systemDfCommand: CommandSpec = {
  paths: [['system', 'df']],
  summary: 'Show the space images, containers and build cache take, and what a prune would reclaim.',
  flags: [
    { names: ['--verbose', '-v'], key: 'verbose', kind: 'bool', description: 'show each image and container' },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'string',
      description: "json (one object per line), table, or a Go template ('{{.Type}}: {{.Size}}')",
    },
  ],
  positionals: [],
  async run(a) {
    const r = roots();
    const rows = RECLAIMERS.flatMap((x) => (x.usage ? [x.usage(r)] : [])).sort(
      (x, y) => USAGE_ORDER.indexOf(x.type) - USAGE_ORDER.indexOf(y.type),
    );
    if (bool(a, 'verbose')) {
      process.stdout.write(verbose(rows));
      return 0;
    }
    process.stdout.write(outputFormat(str(a, 'format') ?? DF_TABLE, DF_TABLE).render(rows.map(dfRow), DF_HEADER));
    return 0;
  },
};
