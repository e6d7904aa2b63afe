// `box stop` and `box kill`: the stop signal then SIGKILL after the timeout, or one signal.
import { parseSignal } from '../../linux/signals';
import { find, killContainer, stopContainer } from '../../runtime/lifecycle';
import { CommandSpec, str } from '../args';
import { roots } from '../context';
import { STOP_TIME_FLAG, stopTimeout, store } from './common';

export const stopCommand: CommandSpec = {
  paths: [['stop'], ['container', 'stop']],
  summary: "Stop running containers: the stop signal (the image's or SIGTERM), then SIGKILL after the timeout.",
  flags: [STOP_TIME_FLAG],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const timeout = stopTimeout(a);
    const s = store();
    for (const q of a.positionals) {
      await stopContainer(roots(), s, find(s, q), timeout);
      process.stdout.write(q + '\n');
    }
    return 0;
  },
};

export const killCommand: CommandSpec = {
  paths: [['kill'], ['container', 'kill']],
  summary: 'Send a signal (default SIGKILL) to the main process of running containers.',
  flags: [
    {
      names: ['--signal', '-s'],
      key: 'signal',
      kind: 'string',
      value: 'signal',
      description: 'signal to send (name or number)',
    },
  ],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const sig = parseSignal(str(a, 'signal') ?? 'KILL', 'signal');
    const s = store();
    for (const q of a.positionals) {
      await killContainer(roots(), s, find(s, q), sig);
      process.stdout.write(q + '\n');
    }
    return 0;
  },
};
