// `box load`: images from a docker-archive or OCI layout tarball.
import { BoxError } from '../../errors';
import { ImageStore } from '../../image/store';
import { CommandSpec, str } from '../args';
import { roots } from '../context';

export const loadCommand: CommandSpec = {
  paths: [['load'], ['image', 'load']],
  summary: 'Load images from a docker-archive or OCI layout tarball (docker save, skopeo, podman).',
  flags: [
    {
      names: ['--input', '-i'],
      key: 'input',
      kind: 'string',
      value: 'file',
      description: 'read from this file instead of standard input (- is standard input)',
    },
    {
      names: ['--quiet', '-q'],
      key: 'quiet',
      kind: 'bool',
      description: 'accepted for compatibility: box prints only what was loaded',
    },
  ],
  positionals: [],
  async run(a) {
    const { loadArchive } = require('../../image/load') as typeof import('../../image/load');
    const { openImportSource } = require('../../image/import') as typeof import('../../image/import');
    const input = str(a, 'input') ?? '-';
    if (input === '-' && process.stdin.isTTY)
      throw new BoxError('load: give -i FILE, or pipe an archive to standard input');
    if (input !== '-' && !require('node:fs').existsSync(input)) throw new BoxError(`load: no such file: ${input}`);
    const loaded = await loadArchive(new ImageStore(roots()), openImportSource(input));
    for (const img of loaded) {
      if (img.tags.length) for (const t of img.tags) process.stdout.write(`Loaded image: ${t}\n`);
      else process.stdout.write(`Loaded image ID: ${img.id}\n`);
    }
    return 0;
  },
};
