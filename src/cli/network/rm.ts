// `box network rm` and `box network prune`: removing user networks (never the predefined ones, nor
// one a container is running on).
import { BoxError } from '../../errors';
import { pruneNetworks, removeNetwork } from '../../network/manage';
import { pruneFilter } from '../../runtime/container-filter';
import { CommandSpec, list } from '../args';
import { PRUNE_FILTER_FLAG } from '../image/prune';
import { stores } from './common';

export const networkRmCommand: CommandSpec = {
  paths: [
    ['network', 'rm'],
    ['network', 'remove'],
  ],
  summary: 'Remove networks (refused while a container runs on one).',
  flags: [{ names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'no error for a missing network' }],
  positionals: [{ name: 'NETWORK', rest: true }],
  async run(a) {
    const { networks, containers } = stores();
    let code = 0;
    for (const q of a.positionals) {
      try {
        const n = await networks.find(q);
        if (!n) {
          if (a.flags.force === true) continue;
          throw new BoxError(`network ${q} not found`, 1);
        }
        await removeNetwork(networks, containers, n);
        process.stdout.write(q + '\n');
      } catch (err) {
        if (!(err instanceof BoxError)) throw err;
        process.stderr.write(`box: ${err.message}\n`);
        code = Math.max(code, err.exitCode === 1 ? 1 : err.exitCode);
      }
    }
    return code;
  },
};

export const networkPruneCommand: CommandSpec = {
  paths: [['network', 'prune']],
  summary: 'Remove every user network that no container uses.',
  flags: [
    { names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'do not ask (box never asks)' },
    PRUNE_FILTER_FLAG,
  ],
  positionals: [],
  async run(a) {
    const { networks, containers } = stores();
    const match = pruneFilter(list(a, 'filter'));
    const removed = await pruneNetworks(networks, containers, (n) => match(n.Created, n.Labels));
    if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.map((n) => n + '\n').join('')}`);
    return 0;
  },
};
