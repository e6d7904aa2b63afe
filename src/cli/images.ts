// Image commands: import, images, rmi.
import { BoxError } from '../errors';
import { parseChanges } from '../image/changes';
import { importRootfs, openImportSource } from '../image/import';
import { parseImageRef } from '../image/reference';
import { ImageStore } from '../image/store';
import { ContainerStore } from '../runtime/containers';
import { bool, CommandSpec, list, str } from './args';
import { roots } from './context';
import { humanSize, table, timeAgo } from './format';

export const importCommand: CommandSpec = {
  paths: [['import'], ['image', 'import']],
  summary: 'Create an image from a root filesystem tarball (tar or tar.gz; - reads standard input).',
  flags: [{ names: ['--change', '-c'], key: 'change', kind: 'list', value: 'instruction', description: 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, STOPSIGNAL' }],
  positionals: [{ name: 'FILE' }, { name: 'NAME[:TAG]' }],
  examples: ["box import rootfs.tar.gz myimage:1.0 --change 'CMD [\"sh\"]'"],
  async run(a) {
    const ref = parseImageRef(a.positionals[1]);
    const change = parseChanges(list(a, 'change'));
    const id = await importRootfs(new ImageStore(roots()), openImportSource(a.positionals[0]), ref, change);
    process.stdout.write(id + '\n');
    return 0;
  },
};

export const imagesCommand: CommandSpec = {
  paths: [['images'], ['image', 'ls'], ['image', 'list']],
  summary: 'List images.',
  flags: [
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show image ids' },
    { names: ['--format'], key: 'format', kind: 'string', value: 'json', description: 'json: one JSON object per line' },
  ],
  positionals: [],
  async run(a) {
    const images = new ImageStore(roots()).list();
    if (bool(a, 'quiet')) {
      process.stdout.write(images.map((i) => i.id.slice(7, 19) + '\n').join(''));
      return 0;
    }
    const rows = images.flatMap((img) => img.tags.map((t) => ({ repo: t.slice(0, t.lastIndexOf(':')), tag: t.slice(t.lastIndexOf(':') + 1), img })));
    if (str(a, 'format') === 'json') {
      for (const { repo, tag, img } of rows) process.stdout.write(JSON.stringify({ Repository: repo, Tag: tag, ID: img.id, CreatedAt: img.created, Size: img.size }) + '\n');
      return 0;
    }
    const body = rows.map(({ repo, tag, img }) => [repo, tag, img.id.slice(7, 19), timeAgo(img.created), humanSize(img.size)]);
    process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], body));
    return 0;
  },
};

export const rmiCommand: CommandSpec = {
  paths: [['rmi'], ['image', 'rm']],
  summary: 'Remove images (refused while a container uses one, unless --force).',
  flags: [{ names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'remove even if containers use the image' }],
  positionals: [{ name: 'IMAGE', rest: true }],
  async run(a) {
    const force = bool(a, 'force');
    const store = new ImageStore(roots());
    const containers = new ContainerStore(roots()).list();
    let code = 0;
    for (const name of a.positionals) {
      try {
        const id = store.resolve(name);
        if (!id) throw new BoxError(`no such image: ${name}`);
        const img = store.get(id);
        const users = containers.filter((c) => c.config.image.id === id);
        if (users.length && !force) {
          throw new BoxError(`image ${name} is used by container ${users[0].id.slice(0, 12)} (${users[0].name}): remove the container first or use -f`);
        }
        const byTag = img.tags.find((t) => t === name || t === `${name}:latest`);
        if (!byTag && img.tags.length > 1 && !force) {
          throw new BoxError(`image ${name} has several tags (${img.tags.join(', ')}): remove them by name or use -f`);
        }
        for (const t of byTag ? [byTag] : img.tags) {
          store.untag(parseImageRef(t));
          process.stdout.write(`Untagged: ${t}\n`);
        }
        if (store.get(id).tags.length === 0) {
          if (!users.length) store.deleteImage(id);
          store.pruneLayers(new Set(containers.flatMap((c) => c.config.layers.map((l) => l.replace(/^sha256:/, '')))));
          process.stdout.write(`Deleted: ${id}\n`);
        }
      } catch (err) {
        if (!(err instanceof BoxError)) throw err;
        process.stderr.write(`box: ${err.message}\n`);
        code = 1;
      }
    }
    return code;
  },
};
