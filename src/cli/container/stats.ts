// `box stats`: live resource usage of containers; --format json, a Go template, or prometheus
// (one reading in Prometheus's text exposition).
import { refresh } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { healthOf, readHealth } from '../../runtime/health';
import type { Sample } from '../../runtime/stats';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { table } from '../format';
import { goStruct, headerRow, outputFormat } from '../template';
import { lookup, store } from './common';

const STATS_TABLE =
  'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

const STATS_HEADER = headerRow('stats', {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
});

export const statsCommand: CommandSpec = {
  paths: [['stats'], ['container', 'stats']],
  summary: 'Show live resource usage of containers (all running ones by default).',
  flags: [
    { names: ['--no-stream'], key: 'noStream', kind: 'bool', description: 'print one reading and exit' },
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'all containers, not only running ones' },
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: 'show full container ids' },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'string',
      description: 'json, table, a Go template, or prometheus (one reading as Prometheus text exposition)',
    },
  ],
  positionals: [{ name: 'CONTAINER', optional: true, rest: true }],
  async run(a) {
    const { sample, statsRow, STATS_TITLES, ZERO_SAMPLE } = await import('../../runtime/stats');
    const { containerCgroup, detectCgroups } = await import('../../linux/cgroups');
    const r = roots();
    const s = store();
    const named = a.positionals.map((q) => ({ query: q, c: lookup(s, q) }));
    const asked = new Map(named.map((n) => [n.c.id, n.query]));
    const pick = async () => {
      const list = named.length
        ? named.map(({ c }) => s.get(c.id) ?? c)
        : s.list().filter((c) => bool(a, 'all') || c.state.status === 'running');
      const out: ContainerRecord[] = [];
      for (const c of list) out.push(await refresh(r, s, c));
      return out;
    };
    const host = detectCgroups();
    const read = (c: ContainerRecord) =>
      c.state.status === 'running'
        ? sample(containerCgroup(host, c.id), c.state.pid, c.config.network === 'host')
        : ZERO_SAMPLE;
    const format = str(a, 'format');
    if (format === 'prometheus') {
      const { prometheusText } = await import('../../runtime/stats-exposition');
      const figures = (await pick()).map((c) => ({
        id: c.id,
        name: c.name,
        image: c.config.image.ref,
        running: c.state.status === 'running',
        restarts: c.state.restartCount ?? 0,
        health: healthOf(c)
          ? c.state.status === 'running'
            ? (readHealth(r, c.id)?.status ?? 'starting')
            : 'unhealthy'
          : undefined,
        sample: read(c),
      }));
      process.stdout.write(prometheusText(figures));
      return 0;
    }
    const template = format ? outputFormat(format, STATS_TABLE) : undefined;
    const noTrunc = bool(a, 'noTrunc');
    const context = (c: ContainerRecord, before: Sample, after: Sample) => {
      const [id, name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs] = statsRow(c.id, c.name, before, after);
      const ID = noTrunc ? c.id : id;
      return goStruct('stats', {
        Container: asked.get(c.id) ?? ID,
        ID,
        Name: name,
        CPUPerc,
        MemUsage,
        MemPerc,
        NetIO,
        BlockIO,
        PIDs,
      });
    };
    const stream = !bool(a, 'noStream');
    const tty = process.stdout.isTTY === true;
    let stop = false;
    if (stream) process.once('SIGINT', () => (stop = true));
    let containers = await pick();
    let before = new Map(containers.map((c) => [c.id, read(c)]));
    do {
      await new Promise((res) => setTimeout(res, 1000)); // the measurement interval of CPU %
      if (stop) break;
      const readings = containers.map((c) => {
        const after = read(c);
        const reading = { c, before: before.get(c.id) ?? after, after };
        before.set(c.id, after);
        return reading;
      });
      let text: string;
      if (template)
        text = template.render(
          readings.map((x) => context(x.c, x.before, x.after)),
          STATS_HEADER,
        );
      else {
        const rows = readings.map(({ c, before: b, after }) => {
          const row = statsRow(c.id, c.name, b, after);
          if (noTrunc) row[0] = c.id;
          return row;
        });
        text = table(STATS_TITLES, rows);
      }
      process.stdout.write((stream && tty ? '\x1b[2J\x1b[H' : '') + text);
      if (stream) {
        const next = await pick();
        for (const c of next) if (!before.has(c.id)) before.set(c.id, read(c));
        containers = next;
        before = new Map([...before].filter(([id]) => next.some((c) => c.id === id)));
      }
    } while (stream && !stop);
    return 0;
  },
};
