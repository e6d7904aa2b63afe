// What the image commands share: short ids, the repository of a tag, and resolving a name.
import { BoxError } from '../../errors';
import { ImageStore } from '../../image/store';

export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

export const repoOf = (ref: string) => ref.slice(0, ref.lastIndexOf(':'));

/** Resolves an image or fails with Docker's wording. */
export function mustResolve(store: ImageStore, name: string): string {
  const id = store.resolve(name);
  if (!id || !store.hasImage(id)) throw new BoxError(`no such image: ${name}`);
  return id;
}
