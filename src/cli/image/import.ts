// `box import`: an image from a root filesystem tarball, with --change instructions.
import { parseChanges } from '../../image/changes';
import { importRootfs, openImportSource } from '../../image/import';
import { parseImageRef } from '../../image/reference';
import { ImageStore } from '../../image/store';
import { CommandSpec, list } from '../args';
import { roots } from '../context';

export const importCommand: CommandSpec = {
  paths: [['import'], ['image', 'import']],
  summary: 'Create an image from a root filesystem tarball (tar or tar.gz; - reads standard input).',
  flags: [
    {
      names: ['--change', '-c'],
      key: 'change',
      kind: 'list',
      value: 'instruction',
      description: 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, STOPSIGNAL',
    },
  ],
  positionals: [{ name: 'FILE' }, { name: 'NAME[:TAG]' }],
  examples: ['box import rootfs.tar.gz myimage:1.0 --change \'CMD ["sh"]\''],
  async run(a) {
    const ref = parseImageRef(a.positionals[1]);
    const change = parseChanges(list(a, 'change'));
    const id = await importRootfs(new ImageStore(roots()), openImportSource(a.positionals[0]), ref, change);
    process.stdout.write(id + '\n');
    return 0;
  },
};
