// `box ps`: the container listing, its --filter, --format and its status column.
import { ContainerStore, DamagedRecordError } from '../../runtime/containers';
import { containerFilter, containerState } from '../../runtime/container-filter';
import { refresh } from '../../runtime/lifecycle';
import { ImageStore } from '../../image/store';
import { bool, CommandSpec, list as listOf, str } from '../args';
import { roots } from '../context';
import { humanSize, table, timeAgo } from '../format';
import { containerSize } from '../../runtime/container-prune';
import { ContainerRecord } from '../../model';
import { outputFormat } from '../template';
import { printableJson } from '../../util/printable';
import { PS_DEFAULT_TABLE, PS_HEADER, psContext, statusText } from './ps-context';

export const psCommand: CommandSpec = {
  paths: [['ps'], ['container', 'ls'], ['container', 'list']],
  summary: 'List containers.',
  flags: [
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'show all containers, not only running ones' },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show ids' },
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: 'do not shorten ids and commands' },
    {
      names: ['--size', '-s'],
      key: 'size',
      kind: 'bool',
      description: "show each container's writable layer and, virtual, with its image",
    },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'string',
      description: "json (one object per line), table, or a Go template ('table {{.ID}}\\t{{.Names}}')",
    },
    {
      names: ['--filter', '-f'],
      key: 'filter',
      kind: 'list',
      value: 'key=value',
      description:
        'status=, name=, id=, label=KEY[=VALUE], exited=CODE, ancestor=IMAGE, health=, since=, before=, ' +
        'expose=, publish=PORT[/PROTO], network=, volume=',
    },
  ],
  positionals: [],
  async run(a) {
    const r = roots();
    const store = new ContainerStore(r);
    store.sweep();
    const format = str(a, 'format');
    const template = format && format !== 'json' ? outputFormat(format, PS_DEFAULT_TABLE) : undefined;
    const images = new ImageStore(r);
    const match = containerFilter(listOf(a, 'filter'), {
      roots: r,
      resolveImage: (name) => {
        try {
          return images.resolve(name);
        } catch {
          return undefined;
        }
      },
      findContainer: (q) => store.find(q),
    });
    const { records, damaged } = store.scan();
    const refreshed = await Promise.all(records.map((c) => refresh(r, store, c)));
    // a --rm container whose end was found out just now is gone, not exited
    const all = refreshed.filter((c, i) => c === records[i] || store.get(c.id));
    const filtered = listOf(a, 'filter').length > 0;
    // as Docker's, plain ps lists restarting containers too
    const list = all.filter(
      (c) => (bool(a, 'all') || filtered || c.state.status === 'running' || c.state.restarting) && match(c),
    );
    const broken = damaged.filter((d) => (bool(a, 'all') || filtered) && match(d));
    if (bool(a, 'quiet')) {
      process.stdout.write([...list, ...broken].map((c) => c.id.slice(0, 12) + '\n').join(''));
      return 0;
    }
    // Docker's SIZE: the writable layer, and with the image's size the virtual one
    const imageSizes = new Map<string, number>();
    const sizeOf = (c: ContainerRecord) => {
      if (!imageSizes.has(c.config.image.id)) {
        let size = 0;
        try {
          size = images.get(c.config.image.id).size;
        } catch {
          /* the image is gone (rmi -f) */
        }
        imageSizes.set(c.config.image.id, size);
      }
      const rw = containerSize(store, c);
      return `${humanSize(rw)} (virtual ${humanSize(rw + imageSizes.get(c.config.image.id)!)})`;
    };
    const withSize = bool(a, 'size');
    if (template) {
      const noTrunc = bool(a, 'noTrunc');
      const rows = list.map((c) => psContext(c, r, { noTrunc, size: withSize ? sizeOf(c) : undefined }));
      process.stdout.write(template.render(rows, PS_HEADER));
      return 0;
    }
    if (format === 'json') {
      for (const c of list) {
        const row = {
          ID: c.id,
          Names: c.name,
          Image: c.config.image.ref,
          Command: c.config.args.join(' '),
          CreatedAt: c.created,
          State: containerState(c),
          Status: statusText(c, r),
          ExitCode: c.state.exitCode,
          RestartCount: c.state.restartCount ?? 0,
          Restarting: c.state.restarting ?? false,
        };
        process.stdout.write(printableJson(JSON.stringify(row)) + '\n');
      }
      for (const d of broken) {
        const row = { ID: d.id, Names: '', Image: '', Command: '', CreatedAt: '', State: 'damaged' };
        process.stdout.write(JSON.stringify({ ...row, Status: `Damaged: ${d.problem}`, Path: d.dir }) + '\n');
      }
      return 0;
    }
    const rows = list.map((c) => [
      c.id.slice(0, 12),
      c.config.image.ref,
      JSON.stringify(c.config.args.join(' ').slice(0, 30)),
      timeAgo(c.created),
      statusText(c, r),
      c.name,
      ...(withSize ? [sizeOf(c)] : []),
    ]);
    rows.push(...broken.map((d) => [d.id.slice(0, 12), '', '', '', 'Damaged', '']));
    const headers = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES', ...(withSize ? ['SIZE'] : [])];
    process.stdout.write(table(headers, rows));
    for (const d of broken) process.stderr.write(`box: ${new DamagedRecordError(d).message}\n`);
    return 0;
  },
};
