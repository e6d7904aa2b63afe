// `box wait`: waits until containers stop and prints their exit codes.
import { find, waitFinalized } from '../../runtime/lifecycle';
import { CommandSpec } from '../args';
import { roots } from '../context';
import { store } from './common';

export const waitCommand: CommandSpec = {
  paths: [['wait'], ['container', 'wait']],
  summary: 'Wait until containers stop, then print their exit codes.',
  flags: [],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const s = store();
    for (const q of a.positionals) {
      const c = await waitFinalized(roots(), s, find(s, q));
      process.stdout.write(`${c?.state.exitCode ?? 0}\n`);
    }
    return 0;
  },
};
