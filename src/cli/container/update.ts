// Commands that manage existing containers: pause, unpause, rename, top, stats, update, port,
// diff, cp. Errors exit 125, like every error of box itself.
import * as path from 'node:path';
import { BoxError } from '../../errors';
import { ContainerStore } from '../../runtime/containers';
import { find, refresh } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { Roots } from '../../paths';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { table } from '../format';
import { printable } from '../../util/printable';

const store = () => new ContainerStore(roots());

const lookup = (s: ContainerStore, query: string): ContainerRecord => find(s, query);

async function running(r: Roots, s: ContainerStore, query: string): Promise<ContainerRecord> {
  const c = await refresh(r, s, lookup(s, query));
  if (c.state.status !== 'running' || !c.state.pid) throw new BoxError(`container ${query} is not running`);
  return c;
}

/** Runs fn for each container; reports each failure on stderr and exits 125 if any failed. */
async function each(queries: string[], fn: (q: string) => Promise<void>): Promise<number> {
  let failed = false;
  for (const q of queries) {
    try {
      await fn(q);
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      process.stderr.write(`box: ${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 125 : 0;
}

export const pauseCommand: CommandSpec = {
  paths: [['pause'], ['container', 'pause']],
  summary: 'Pause all processes of running containers (cgroup freezer).',
  flags: [],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const { pauseContainer } = await import('../../runtime/freezer');
    const s = store();
    return each(a.positionals, async (q) => {
      await pauseContainer(roots(), s, lookup(s, q));
      process.stdout.write(q + '\n');
    });
  },
};

export const unpauseCommand: CommandSpec = {
  paths: [['unpause'], ['container', 'unpause']],
  summary: 'Resume the processes of paused containers.',
  flags: [],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const { unpauseContainer } = await import('../../runtime/freezer');
    const s = store();
    return each(a.positionals, async (q) => {
      await unpauseContainer(roots(), s, lookup(s, q));
      process.stdout.write(q + '\n');
    });
  },
};

export const renameCommand: CommandSpec = {
  paths: [['rename'], ['container', 'rename']],
  summary: 'Rename a container.',
  flags: [],
  positionals: [{ name: 'CONTAINER' }, { name: 'NEW_NAME' }],
  async run(a) {
    const { renameContainer } = await import('../../runtime/rename');
    const s = store();
    await renameContainer(roots(), s, lookup(s, a.positionals[0]), a.positionals[1]);
    return 0;
  },
};

export const topCommand: CommandSpec = {
  paths: [['top'], ['container', 'top']],
  summary: 'Show the processes of a running container (ps options are accepted and ignored).',
  flags: [],
  positionals: [{ name: 'CONTAINER' }],
  stopAfterPositionals: true,
  async run(a) {
    const { processRows, TOP_TITLES } = await import('../../runtime/top');
    const { containerCgroup, detectCgroups } = await import('../../linux/cgroups');
    const c = await running(roots(), store(), a.positionals[0]);
    const pids = containerCgroup(detectCgroups(), c.id).pids();
    process.stdout.write(table(TOP_TITLES, processRows(pids)));
    return 0;
  },
};

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
      const list = named.length ? named.map((c) => s.get(c.id) ?? c) : s.list().filter((c) => bool(a, 'all') || c.state.status === 'running');
      const out: ContainerRecord[] = [];
      for (const c of list) out.push(await refresh(r, s, c));
      return out;
    };
    const host = detectCgroups();
    const read = (c: ContainerRecord) => (c.state.status === 'running' ? sample(containerCgroup(host, c.id), c.state.pid, c.config.network === 'host') : ZERO_SAMPLE);
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

export const updateCommand: CommandSpec = {
  paths: [['update'], ['container', 'update']],
  summary: 'Change the resource limits of containers (running ones at once, stopped ones at their next start).',
  flags: [
    { names: ['--memory', '-m'], key: 'memory', kind: 'string', value: 'bytes', description: 'memory limit' },
    { names: ['--memory-swap'], key: 'memorySwap', kind: 'string', value: 'bytes', description: 'memory plus swap limit (-1: unlimited swap)' },
    { names: ['--memory-reservation'], key: 'memoryReservation', kind: 'string', value: 'bytes', description: 'memory soft limit' },
    { names: ['--cpus'], key: 'cpus', kind: 'string', value: 'number', description: 'number of CPUs' },
    { names: ['--cpu-shares', '-c'], key: 'cpuShares', kind: 'string', value: 'int', description: 'CPU shares (relative weight)' },
    { names: ['--cpu-period'], key: 'cpuPeriod', kind: 'string', value: 'us', description: 'CFS period in microseconds' },
    { names: ['--cpu-quota'], key: 'cpuQuota', kind: 'string', value: 'us', description: 'CFS quota in microseconds' },
    { names: ['--cpuset-cpus'], key: 'cpusetCpus', kind: 'string', value: 'list', description: 'CPUs to run on (0-3, 0,1)' },
    { names: ['--pids-limit'], key: 'pidsLimit', kind: 'string', value: 'int', description: 'process limit (-1: unlimited)' },
  ],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const { parseLimits } = await import('../../runtime/run-options');
    const { updateContainer } = await import('../../runtime/update');
    const keys = ['memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'cpuPeriod', 'cpuQuota', 'cpusetCpus', 'pidsLimit'] as const;
    const given: Partial<Record<(typeof keys)[number], string>> = {};
    for (const k of keys) if (str(a, k) !== undefined) given[k] = str(a, k);
    if (Object.keys(given).length === 0) throw new BoxError('you must provide one or more flags when using this command');
    const change = parseLimits(given as Parameters<typeof parseLimits>[0]);
    const s = store();
    return each(a.positionals, async (q) => {
      await updateContainer(roots(), s, lookup(s, q), change, (m) => process.stderr.write(`box: warning: ${m}\n`));
      process.stdout.write(q + '\n');
    });
  },
};

export const portCommand: CommandSpec = {
  paths: [['port'], ['container', 'port']],
  summary: "List a container's published ports (box publishes none yet).",
  flags: [],
  positionals: [{ name: 'CONTAINER' }, { name: 'PRIVATE_PORT', optional: true }],
  async run(a) {
    lookup(store(), a.positionals[0]);
    if (a.positionals[1] !== undefined) throw new BoxError(`no public port '${a.positionals[1]}' published for ${a.positionals[0]}`);
    return 0;
  },
};

export const diffCommand: CommandSpec = {
  paths: [['diff'], ['container', 'diff']],
  summary: "List the files a container added (A), changed (C) or deleted (D) against its image.",
  flags: [],
  positionals: [{ name: 'CONTAINER' }],
  async run(a) {
    const { containerChanges, imageLayerDirs, upperDir } = await import('../../runtime/diff');
    const s = store();
    const c = lookup(s, a.positionals[0]);
    const changes = containerChanges(upperDir(s, c), imageLayerDirs(roots(), c));
    process.stdout.write(changes.map(([k, p]) => `${k} ${printable(p)}\n`).join('')); // file names are the container's
    return 0;
  },
};

export const cpCommand: CommandSpec = {
  paths: [['cp'], ['container', 'cp']],
  summary: 'Copy files and directories between a container and the host.',
  flags: [
    { names: ['--archive', '-a'], key: 'archive', kind: 'bool', description: 'keep the owners (uid:gid) of the source' },
    { names: ['--follow-link', '-L'], key: 'followLink', kind: 'bool', description: 'follow a symbolic link given as the source' },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'do not print the amount copied' },
  ],
  positionals: [{ name: 'SRC' }, { name: 'DEST' }],
  examples: ['box cp web:/etc/nginx/nginx.conf .', 'box cp ./site web:/usr/share/nginx/html'],
  async run(a) {
    const { copyPath, describeCopyError, LayerTree, RootTree, splitContainerPath } = await import('../../runtime/copy');
    const { LayerStack, imageLayerDirs, upperDir } = await import('../../runtime/diff');
    const [srcArg, dstArg] = a.positionals;
    const srcC = splitContainerPath(srcArg);
    const dstC = splitContainerPath(dstArg);
    if (srcC && dstC) throw new BoxError('copying between containers is not supported');
    if (!srcC && !dstC) throw new BoxError('one of SRC and DEST must be CONTAINER:PATH');
    if (srcArg === '-' || dstArg === '-') throw new BoxError('tar streams on standard input/output ("-") are not supported yet');
    const r = roots();
    const s = store();
    const side = (srcC ?? dstC)!;
    const c = await refresh(r, s, lookup(s, side.container));
    const containerTree = () => {
      if (c.state.status === 'running' && c.state.pid) return RootTree.container(c.state.pid);
      return new LayerTree(new LayerStack([upperDir(s, c), ...imageLayerDirs(r, c)]));
    };
    const local = (p: string) => {
      // path.resolve drops a trailing "/" or "/.", which cp gives a meaning to: keep it.
      const suffix = p.endsWith('/.') ? '/.' : p.endsWith('/') ? '/' : '';
      return path.resolve(p) + suffix;
    };
    const host = RootTree.host();
    const inside = containerTree();
    const what = srcC ? srcArg : dstArg;
    try {
      const bytes = srcC
        ? copyPath(inside, srcC.path || '/', host, local(dstArg), { archive: bool(a, 'archive'), followLink: bool(a, 'followLink'), owner: { uid: process.geteuid!(), gid: process.getegid!() }, warn }, { src: srcArg, dst: dstArg })
        : copyPath(host, local(srcArg), inside, dstC!.path || '/', { archive: bool(a, 'archive'), followLink: bool(a, 'followLink'), owner: { uid: 0, gid: 0 }, warn }, { src: srcArg, dst: dstArg });
      if (!bool(a, 'quiet')) {
        const { decimalSize } = await import('../../runtime/stats');
        process.stderr.write(`Successfully copied ${decimalSize(bytes)} to ${dstArg}\n`);
      }
      return 0;
    } catch (err) {
      throw describeCopyError(err, what);
    } finally {
      host.close();
      inside.close();
    }
  },
};

function warn(msg: string): void {
  process.stderr.write(`box: ${msg}\n`);
}
