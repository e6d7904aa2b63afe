// `box rmi`: removing images, with Docker's rules for tags, digests and the containers using them.
import { BoxError } from '../../errors';
import { parseImageRef } from '../../image/reference';
import { ImageRecord, ImageStore } from '../../image/store';
import { bool, CommandSpec } from '../args';
import { roots } from '../context';
import { collectGarbage } from '../../image/gc';
import { withExclusiveStore } from '../../image/store-lock';
import { ContainerStore } from '../../runtime/containers';
import type { ContainerRecord } from '../../model';
import { mustResolve, repoOf, shortId } from './common';

export const rmiCommand: CommandSpec = {
  paths: [['rmi'], ['image', 'rm']],
  summary: 'Remove images (refused while a container uses one, unless --force).',
  flags: [
    {
      names: ['--force', '-f'],
      key: 'force',
      kind: 'bool',
      description: 'remove an image used by a stopped container, or with several tags, when given by id',
    },
  ],
  positionals: [{ name: 'IMAGE', rest: true }],
  async run(a) {
    const store = new ImageStore(roots());
    return removeImages(store, a.positionals, bool(a, 'force'));
  },
};

/** The tag `name` names, if it is a reference (not an id) to one of img's tags. */
function tagNamed(img: ImageRecord, name: string): string | undefined {
  try {
    const full = parseImageRef(name).full;
    return img.tags.includes(full) ? full : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `box rmi` with Docker's rules. By tag: only that tag goes while others remain; the last tag
 * of an image a container uses is refused without -f (with -f, the tag goes and the image stays
 * while a running container uses it). By id: an image with tags in several repositories, or one
 * a stopped container uses, needs -f; one a running container uses cannot be removed.
 * Unreferenced layers and blobs are collected afterwards, under the store's exclusive lock.
 */
export async function removeImages(
  store: ImageStore,
  names: string[],
  force: boolean,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  return withExclusiveStore(store, () => {
    let code = 0;
    const containers = new ContainerStore(store.roots).list();
    let deleted = false;
    for (const name of names) {
      try {
        const id = mustResolve(store, name);
        const img = store.get(id);
        const users = containers.filter((c) => c.config.image.id === id);
        const running = users.find((c) => c.state.status === 'running');
        const stopped = users.find((c) => c.state.status !== 'running');
        const describe = (c: ContainerRecord) => `${c.id.slice(0, 12)} (${c.name})`;
        const tag = tagNamed(img, name);
        if (tag) {
          if (img.tags.length > 1) {
            store.untag(parseImageRef(tag));
            out.write(`Untagged: ${tag}\n`);
            continue;
          }
          const user = running ?? stopped;
          if (user && !force)
            throw new BoxError(
              `conflict: unable to remove repository reference "${name}" (must force) - ` +
                `container ${describe(user)} is using its referenced image ${shortId(id)}`,
            );
          store.untag(parseImageRef(tag));
          out.write(`Untagged: ${tag}\n`);
          if (running) continue; // the image stays (untagged) while a running container uses it
        } else {
          if (running)
            throw new BoxError(
              `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${describe(running)}`,
            );
          if (stopped && !force)
            throw new BoxError(
              `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${describe(stopped)}`,
            );
          if (new Set(img.tags.map(repoOf)).size > 1 && !force) {
            throw new BoxError(
              `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories (${img.tags.join(', ')})`,
            );
          }
          for (const t of img.tags) {
            store.untag(parseImageRef(t));
            out.write(`Untagged: ${t}\n`);
          }
        }
        for (const r of img.repoDigests) out.write(`Untagged: ${r}\n`);
        store.deleteImage(id);
        out.write(`Deleted: ${id}\n`);
        deleted = true;
      } catch (e) {
        if (!(e instanceof BoxError)) throw e;
        err.write(`box: ${e.message}\n`);
        code = 1;
      }
    }
    if (deleted) collectGarbage(store);
    return code;
  });
}
