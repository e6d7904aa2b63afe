// `box pause` and `box unpause`: the cgroup freezer over all processes of containers.
import { CommandSpec } from '../args';
import { roots } from '../context';
import { each, lookup, store } from './common';

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
