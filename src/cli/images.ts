// Image commands: import, images, rmi.
import { Command, Option } from 'clipanion';
import { BoxError } from '../errors';
import { parseChanges } from '../image/changes';
import { roots } from './context';
import { table, humanSize, timeAgo } from './format';

export class ImportCommand extends Command {
  static override paths = [['import'], ['image', 'import']];
  static override usage = Command.Usage({
    description: 'create an image from a root filesystem tarball (tar or tar.gz; - for standard input)',
    examples: [['Import a rootfs', "box import rootfs.tar.gz myimage:1.0 --change 'CMD [\"sh\"]'"]],
  });
  change = Option.Array('--change,-c', [], { description: 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL)' });
  file = Option.String({ name: 'FILE' });
  reference = Option.String({ name: 'NAME[:TAG]' });

  override async execute(): Promise<number> {
    const { parseImageRef } = await import('../image/reference');
    const { ImageStore } = await import('../image/store');
    const { importRootfs, openImportSource } = await import('../image/import');
    const ref = parseImageRef(this.reference);
    const change = parseChanges(this.change);
    const id = await importRootfs(new ImageStore(roots()), openImportSource(this.file), ref, change);
    process.stdout.write(id + '\n');
    return 0;
  }
}

export class ImagesCommand extends Command {
  static override paths = [['images'], ['image', 'ls'], ['image', 'list']];
  static override usage = Command.Usage({ description: 'list images' });
  quiet = Option.Boolean('--quiet,-q', false, { description: 'only show image ids' });
  format = Option.String('--format', { description: 'json for machine-readable output' });

  override async execute(): Promise<number> {
    const { ImageStore } = await import('../image/store');
    const images = new ImageStore(roots()).list();
    if (this.quiet) {
      process.stdout.write(images.map((i) => i.id.slice(7, 19) + '\n').join(''));
      return 0;
    }
    const rows = images.flatMap((img) => img.tags.map((t) => ({ ref: t, img })));
    if (this.format === 'json') {
      for (const { ref, img } of rows) {
        const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
        process.stdout.write(JSON.stringify({ Repository: repo, Tag: tag, ID: img.id, CreatedAt: img.created, Size: img.size }) + '\n');
      }
      return 0;
    }
    const body = rows.map(({ ref, img }) => {
      const i = ref.lastIndexOf(':');
      return [ref.slice(0, i), ref.slice(i + 1), img.id.slice(7, 19), timeAgo(img.created), humanSize(img.size)];
    });
    process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], body));
    return 0;
  }
}

export class RmiCommand extends Command {
  static override paths = [['rmi'], ['image', 'rm']];
  static override usage = Command.Usage({ description: 'remove images' });
  force = Option.Boolean('--force,-f', false, { description: 'remove even if containers use the image' });
  images = Option.Rest({ required: 1, name: 'IMAGE' });

  override async execute(): Promise<number> {
    const { ImageStore } = await import('../image/store');
    const { ContainerStore } = await import('../runtime/containers');
    const { parseImageRef } = await import('../image/reference');
    const store = new ImageStore(roots());
    const containers = new ContainerStore(roots()).list();
    let code = 0;
    for (const name of this.images) {
      try {
        const id = store.resolve(name);
        if (!id) throw new BoxError(`no such image: ${name}`);
        const img = store.get(id);
        const users = containers.filter((c) => c.config.image.id === id);
        if (users.length && !this.force) {
          throw new BoxError(`image ${name} is used by container ${users[0].id.slice(0, 12)} (${users[0].name}): remove the container first or use -f`);
        }
        const byTag = img.tags.find((t) => t === name || t === `${name}:latest`);
        const toUntag = byTag ? [byTag] : img.tags;
        if (!byTag && img.tags.length > 1 && !this.force) {
          throw new BoxError(`image ${name} has several tags (${img.tags.join(', ')}): remove them by name or use -f`);
        }
        for (const t of toUntag) {
          store.untag(parseImageRef(t));
          process.stdout.write(`Untagged: ${t}\n`);
        }
        if (store.get(id).tags.length === 0) {
          if (!users.length) store.deleteImage(id);
          const inUse = new Set(containers.flatMap((c) => c.config.layers.map((l) => l.replace(/^sha256:/, ''))));
          store.pruneLayers(inUse);
          process.stdout.write(`Deleted: ${id}\n`);
        }
      } catch (err) {
        if (!(err instanceof BoxError)) throw err;
        process.stderr.write(`box: ${err.message}\n`);
        code = 1;
      }
    }
    return code;
  }
}
