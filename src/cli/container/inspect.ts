// `box inspect`: containers as Docker-shaped JSON.
import { find, refresh } from '../../runtime/lifecycle';
import { inspectContainer } from '../../runtime/inspect';
import { printableJson } from '../../util/printable';
import { CommandSpec } from '../args';
import { roots } from '../context';
import { store } from './common';

export const inspectCommand: CommandSpec = {
  paths: [['inspect'], ['container', 'inspect']],
  summary: 'Show containers as Docker-shaped JSON.',
  flags: [],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const s = store();
    const out = [];
    for (const q of a.positionals) out.push(inspectContainer(await refresh(roots(), s, find(s, q)), s));
    process.stdout.write(printableJson(JSON.stringify(out, null, 4)) + '\n');
    return 0;
  },
};
