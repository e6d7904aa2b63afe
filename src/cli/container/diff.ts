// `box diff`: the files a container added, changed or deleted against its image.
import { CommandSpec } from '../args';
import { roots } from '../context';
import { printable } from '../../util/printable';
import { lookup, store } from './common';

export const diffCommand: CommandSpec = {
  paths: [['diff'], ['container', 'diff']],
  summary: 'List the files a container added (A), changed (C) or deleted (D) against its image.',
  flags: [],
  positionals: [{ name: 'CONTAINER' }],
  async run(a) {
    const { containerChanges, imageLayerDirs, upperDir } = await import('../../runtime/diff');
    const s = store();
    const c = lookup(s, a.positionals[0]);
    const mountPoints = (c.config.mounts ?? []).map((m) => m.target);
    const changes = containerChanges(upperDir(s, c), imageLayerDirs(roots(), c), mountPoints);
    process.stdout.write(changes.map(([k, p]) => `${k} ${printable(p)}\n`).join('')); // file names are the container's
    return 0;
  },
};
