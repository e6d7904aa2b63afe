// `box ps`: the container listing, its --filter and its status column.
import { ContainerStore, DamagedContainer, DamagedRecordError, isDamaged } from '../../runtime/containers';
import { isPaused } from '../../runtime/freezer';
import { healthSuffix } from '../../runtime/health';
import { refresh } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { BoxError } from '../../errors';
import { bool, CommandSpec, list as listOf, str } from '../args';
import { roots } from '../context';
import { table, timeAgo } from '../format';
import { printableJson } from '../../util/printable';

export function psStatus(c: ContainerRecord): string {
  if (c.state.restarting) return 'restarting';
  if (c.state.status === 'running' && isPaused(c)) return 'paused';
  return c.state.status;
}

/**
 * Docker's ps filters: values of one key are alternatives, different keys must all match. A damaged
 * record matches only status=damaged and id=.
 */
export function parsePsFilters(filters: string[]): (c: ContainerRecord | DamagedContainer) => boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = f.slice(0, i);
    if (i < 1 || !['status', 'name', 'id', 'label', 'exited', 'ancestor'].includes(key)) {
      throw new BoxError(`invalid --filter "${f}": use status=, name=, id=, label=, exited= or ancestor=`);
    }
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(i + 1)]);
  }
  return (c) =>
    [...byKey].every(([key, values]) =>
      values.some((v) => {
        if (isDamaged(c)) return key === 'status' ? v === 'damaged' : key === 'id' && c.id.startsWith(v);
        if (key === 'status') return psStatus(c) === v;
        if (key === 'name') return c.name.includes(v);
        if (key === 'id') return c.id.startsWith(v);
        if (key === 'exited') return c.state.status === 'exited' && String(c.state.exitCode) === v;
        if (key === 'ancestor')
          return c.config.image.ref === v || c.config.image.id === v || c.config.image.id.startsWith(`sha256:${v}`);
        const eq = v.indexOf('=');
        return eq < 0 ? v in c.config.labels : c.config.labels[v.slice(0, eq)] === v.slice(eq + 1);
      }),
    );
}

function since(iso: string | undefined): string {
  return timeAgo(iso).replace(/ ago$/, '');
}

export function statusText(c: ContainerRecord): string {
  if (c.state.restarting) return `Restarting (${c.state.exitCode}) ${timeAgo(c.state.finishedAt)}`;
  if (c.state.status === 'exited') return `Exited (${c.state.exitCode}) ${timeAgo(c.state.finishedAt)}`;
  if (c.state.status === 'removing') return 'Removal In Progress'; // as Docker's
  if (c.state.status !== 'running') return 'Created';
  return `Up ${since(c.state.startedAt)}${isPaused(c) ? ' (Paused)' : ''}${healthSuffix(c, roots())}`;
}

export const psCommand: CommandSpec = {
  paths: [['ps'], ['container', 'ls'], ['container', 'list']],
  summary: 'List containers.',
  flags: [
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'show all containers, not only running ones' },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show ids' },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'json',
      description: 'json: one JSON object per line',
    },
    {
      names: ['--filter', '-f'],
      key: 'filter',
      kind: 'list',
      value: 'key=value',
      description: 'status=, name=, id=, label=KEY[=VALUE], exited=CODE, ancestor=IMAGE',
    },
  ],
  positionals: [],
  async run(a) {
    const store = new ContainerStore(roots());
    store.sweep();
    const match = parsePsFilters(listOf(a, 'filter'));
    const { records, damaged } = store.scan();
    const refreshed = await Promise.all(records.map((c) => refresh(roots(), store, c)));
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
    if (str(a, 'format') === 'json') {
      for (const c of list) {
        const row = {
          ID: c.id,
          Names: c.name,
          Image: c.config.image.ref,
          Command: c.config.args.join(' '),
          CreatedAt: c.created,
          State: psStatus(c),
          Status: statusText(c),
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
      statusText(c),
      c.name,
    ]);
    rows.push(...broken.map((d) => [d.id.slice(0, 12), '', '', '', 'Damaged', '']));
    process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows));
    for (const d of broken) process.stderr.write(`box: ${new DamagedRecordError(d).message}\n`);
    return 0;
  },
};
