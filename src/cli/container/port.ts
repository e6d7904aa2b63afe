// `box port`: a container's published ports (box publishes none yet).
import { BoxError } from '../../errors';
import { CommandSpec } from '../args';
import { lookup, store } from './common';

export const portCommand: CommandSpec = {
  paths: [['port'], ['container', 'port']],
  summary: "List a container's published ports (box publishes none yet).",
  flags: [],
  positionals: [{ name: 'CONTAINER' }, { name: 'PRIVATE_PORT', optional: true }],
  async run(a) {
    lookup(store(), a.positionals[0]);
    if (a.positionals[1] !== undefined)
      throw new BoxError(`no public port '${a.positionals[1]}' published for ${a.positionals[0]}`);
    return 0;
  },
};
