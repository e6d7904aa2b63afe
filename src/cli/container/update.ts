// `box update`: changes the resource limits of containers (running ones at once).
import { BoxError } from '../../errors';
import { CommandSpec, str } from '../args';
import { roots } from '../context';
import { each, lookup, store } from './common';

export const updateCommand: CommandSpec = {
  paths: [['update'], ['container', 'update']],
  summary: 'Change the resource limits of containers (running ones at once, stopped ones at their next start).',
  flags: [
    { names: ['--memory', '-m'], key: 'memory', kind: 'string', value: 'bytes', description: 'memory limit' },
    {
      names: ['--memory-swap'],
      key: 'memorySwap',
      kind: 'string',
      value: 'bytes',
      description: 'memory plus swap limit (-1: unlimited swap)',
    },
    {
      names: ['--memory-reservation'],
      key: 'memoryReservation',
      kind: 'string',
      value: 'bytes',
      description: 'memory soft limit',
    },
    { names: ['--cpus'], key: 'cpus', kind: 'string', value: 'number', description: 'number of CPUs' },
    {
      names: ['--cpu-shares', '-c'],
      key: 'cpuShares',
      kind: 'string',
      value: 'int',
      description: 'CPU shares (relative weight)',
    },
    {
      names: ['--cpu-period'],
      key: 'cpuPeriod',
      kind: 'string',
      value: 'us',
      description: 'CFS period in microseconds',
    },
    { names: ['--cpu-quota'], key: 'cpuQuota', kind: 'string', value: 'us', description: 'CFS quota in microseconds' },
    {
      names: ['--cpuset-cpus'],
      key: 'cpusetCpus',
      kind: 'string',
      value: 'list',
      description: 'CPUs to run on (0-3, 0,1)',
    },
    {
      names: ['--pids-limit'],
      key: 'pidsLimit',
      kind: 'string',
      value: 'int',
      description: 'process limit (-1: unlimited)',
    },
  ],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const { parseLimits } = await import('../../runtime/run-options');
    const { updateContainer } = await import('../../runtime/update');
    const keys = [
      'memory',
      'memorySwap',
      'memoryReservation',
      'cpus',
      'cpuShares',
      'cpuPeriod',
      'cpuQuota',
      'cpusetCpus',
      'pidsLimit',
    ] as const;
    const given: Partial<Record<(typeof keys)[number], string>> = {};
    for (const k of keys) if (str(a, k) !== undefined) given[k] = str(a, k);
    if (Object.keys(given).length === 0)
      throw new BoxError('you must provide one or more flags when using this command');
    const change = parseLimits(given as Parameters<typeof parseLimits>[0]);
    const s = store();
    return each(a.positionals, async (q) => {
      await updateContainer(roots(), s, lookup(s, q), change, (m) => process.stderr.write(`box: warning: ${m}\n`));
      process.stdout.write(q + '\n');
    });
  },
};
