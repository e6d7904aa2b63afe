// `box top`: the processes of a running container.
import { CommandSpec } from '../args';
import { roots } from '../context';
import { table } from '../format';
import { running, store } from './common';

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
