// `box cp`: copies files and directories between a container and the host.
import * as path from 'node:path';
import { mountSources } from '../../volume/attach';
import { BoxError } from '../../errors';
import { refresh } from '../../runtime/lifecycle';
import { bool, CommandSpec } from '../args';
import { roots } from '../context';
import { lookup, store } from './common';

export const cpCommand: CommandSpec = {
  paths: [['cp'], ['container', 'cp']],
  summary: 'Copy files and directories between a container and the host.',
  flags: [
    {
      names: ['--archive', '-a'],
      key: 'archive',
      kind: 'bool',
      description: 'keep the owners (uid:gid) of the source',
    },
    {
      names: ['--follow-link', '-L'],
      key: 'followLink',
      kind: 'bool',
      description: 'follow a symbolic link given as the source',
    },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'do not print the amount copied' },
  ],
  positionals: [{ name: 'SRC' }, { name: 'DEST' }],
  examples: ['box cp web:/etc/nginx/nginx.conf .', 'box cp ./site web:/usr/share/nginx/html'],
  async run(a) {
    const { copyPath, describeCopyError, LayerTree, MountedTree, RootTree, splitContainerPath } = await import(
      '../../runtime/copy'
    );
    const { LayerStack, containerLowerDirs, upperDir } = await import('../../runtime/diff');
    const [srcArg, dstArg] = a.positionals;
    const srcC = splitContainerPath(srcArg);
    const dstC = splitContainerPath(dstArg);
    if (srcC && dstC) throw new BoxError('copying between containers is not supported');
    if (!srcC && !dstC) throw new BoxError('one of SRC and DEST must be CONTAINER:PATH');
    if (srcArg === '-' || dstArg === '-')
      throw new BoxError('tar streams on standard input/output ("-") are not supported yet');
    const r = roots();
    const s = store();
    const side = (srcC ?? dstC)!;
    const c = await refresh(r, s, lookup(s, side.container));
    const containerTree = () => {
      if (c.state.status === 'running' && c.state.pid) return RootTree.container(c.state.pid);
      const layers = new LayerTree(new LayerStack([upperDir(s, c), ...containerLowerDirs(r, c)]));
      // a stopped container's volumes and binds are their directories on the host (a tmpfs is gone)
      const mounted = mountSources(r, c.config.mounts ?? []).filter((m) => m.hostPath && !m.driver);
      if (!mounted.length) return layers;
      return new MountedTree(
        layers,
        mounted.map((m) => ({ target: m.mount.target, tree: RootTree.beneath(m.hostPath) })),
      );
    };
    const local = (p: string) => {
      // path.resolve drops a trailing "/" or "/.", which cp gives a meaning to: keep it.
      const suffix = p.endsWith('/.') ? '/.' : p.endsWith('/') ? '/' : '';
      return path.resolve(p) + suffix;
    };
    const host = RootTree.host();
    const inside = containerTree();
    const what = srcC ? srcArg : dstArg;
    try {
      const bytes = srcC
        ? copyPath(
            inside,
            srcC.path || '/',
            host,
            local(dstArg),
            {
              archive: bool(a, 'archive'),
              followLink: bool(a, 'followLink'),
              owner: { uid: process.geteuid!(), gid: process.getegid!() },
              warn,
            },
            { src: srcArg, dst: dstArg },
          )
        : copyPath(
            host,
            local(srcArg),
            inside,
            dstC!.path || '/',
            { archive: bool(a, 'archive'), followLink: bool(a, 'followLink'), owner: { uid: 0, gid: 0 }, warn },
            { src: srcArg, dst: dstArg },
          );
      if (!bool(a, 'quiet')) {
        const { decimalSize } = await import('../../runtime/stats');
        process.stderr.write(`Successfully copied ${decimalSize(bytes)} to ${dstArg}\n`);
      }
      return 0;
    } catch (err) {
      throw describeCopyError(err, what);
    } finally {
      host.close();
      inside.close();
    }
  },
};

function warn(msg: string): void {
  process.stderr.write(`box: ${msg}\n`);
}
