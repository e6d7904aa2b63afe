// `box export`: a container's file system (image and changes, flattened) as a tar archive.
import { BoxError } from '../../errors';
import { CommandSpec, str } from '../args';
import { roots } from '../context';
import { writeArchive } from '../image/save';

export const exportCommand: CommandSpec = {
  paths: [['export'], ['container', 'export']],
  summary: "Export a container's file system (image and changes, flattened) as a tar archive.",
  flags: [
    {
      names: ['--output', '-o'],
      key: 'output',
      kind: 'string',
      value: 'file',
      description: 'write to this file instead of standard output',
    },
  ],
  positionals: [{ name: 'CONTAINER' }],
  examples: ['box export -o web.tar web', 'box export web | tar -t'],
  async run(a) {
    const { ContainerStore } = await import('../../runtime/containers');
    const { find } = await import('../../runtime/lifecycle');
    const { containerLowerDirs, upperDir } = await import('../../runtime/diff');
    const { exportLayers } = await import('../../image/export');
    const { storeLock } = await import('../../image/store-lock');
    const r = roots();
    const s = new ContainerStore(r);
    let c: ReturnType<typeof find>;
    try {
      c = find(s, a.positionals[0]);
    } catch (err) {
      throw err instanceof BoxError ? new BoxError(err.message, 1) : err;
    }
    const record = c;
    // The image layers stay while a container uses them; the shared lock also keeps a
    // concurrent garbage collection from racing a container being removed meanwhile.
    const lock = await storeLock(r, 'shared');
    try {
      await writeArchive('export', str(a, 'output'), (out) =>
        exportLayers([upperDir(s, record), ...containerLowerDirs(r, record)], out),
      );
    } finally {
      lock.release();
    }
    return 0;
  },
};
