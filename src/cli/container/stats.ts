// `box stats`: live resource usage of containers.
import { refresh } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { bool, CommandSpec } from '../args';
import { roots } from '../context';
import { table } from '../format';
import { lookup, store } from './common';

export const statsCommand: CommandSpec = {
  paths: [['stats'], ['container', 'stats']],
  summary: 'Show live resource usage of containers (all running ones by default).',
  flags: [
    { names: ['--no-stream'], key: 'noStream', kind: 'bool', description: 'print one reading and exit' },
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'all containers, not only running ones' },
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: 'show full container ids' },
  ],
  positionals: [{ name: 'CONTAINER', optional: true, rest: true }],
  async run(a) {
    const { sample, statsRow, STATS_TITLES, ZERO_SAMPLE } = await import('../../runtime/stats');
    const { containerCgroup, detectCgroups } = await import('../../linux/cgroups');
    const r = roots();
    const s = store();
    const named = a.positionals.map((q) => lookup(s, q));
    const pick = async () => {
      const list = named.length
        ? named.map((c) => s.get(c.id) ?? c)
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
    const stream = !bool(a, 'noStream');
    const tty = process.stdout.isTTY === true;
    let stop = false;
    if (stream) process.once('SIGINT', () => (stop = true));
    let containers = await pick();
    let before = new Map(containers.map((c) => [c.id, read(c)]));
    do {
      await new Promise((res) => setTimeout(res, 1000)); // the measurement interval of CPU %
      if (stop) break;
      const rows = containers.map((c) => {
        const after = read(c);
        const id = bool(a, 'noTrunc') ? c.id : c.id.slice(0, 12);
        const row = statsRow(id, c.name, before.get(c.id) ?? after, after);
        if (bool(a, 'noTrunc')) row[0] = c.id;
        before.set(c.id, after);
        return row;
      });
      process.stdout.write((stream && tty ? '\x1b[2J\x1b[H' : '') + table(STATS_TITLES, rows));
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
