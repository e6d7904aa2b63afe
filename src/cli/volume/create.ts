// `box volume create [--label K=V] [-o type=tmpfs|none,device=,o=...] [NAME]`
import { keyValues, createVolume } from '../../volume/manage';
import { CommandSpec, list, str } from '../args';
import { roots } from '../context';
import { BoxError } from '../../errors';

export const volumeCreateCommand: CommandSpec = {
  paths: [['volume', 'create']],
  summary: 'Create a volume (a directory under the storage root, or with -o a tmpfs, a host directory or a device).',
  flags: [
    { names: ['--driver', '-d'], key: 'driver', kind: 'string', value: 'name', description: 'local (the only driver)' },
    { names: ['--label'], key: 'label', kind: 'list', value: 'KEY=VALUE', description: 'set a metadata label' },
    {
      names: ['--opt', '-o'],
      key: 'opt',
      kind: 'list',
      value: 'KEY=VALUE',
      description: 'driver option: type (tmpfs, none, or a file system type), device, o (mount options)',
    },
  ],
  positionals: [{ name: 'VOLUME', optional: true }],
  examples: [
    'box volume create pgdata',
    'box volume create -o type=tmpfs -o device=tmpfs -o o=size=64m scratch',
    'box volume create -o type=none -o o=bind -o device=/srv/data data',
  ],
  async run(a) {
    const driver = str(a, 'driver');
    if (driver !== undefined && driver !== 'local') {
      throw new BoxError(`volume driver "${driver}" is not supported: box has the local driver only`);
    }
    const labels = keyValues(list(a, 'label'), 'label');
    const options = keyValues(list(a, 'opt'), 'driver option');
    const v = await createVolume(roots(), a.positionals[0], { labels, options });
    process.stdout.write(v.name + '\n');
    return 0;
  },
};
