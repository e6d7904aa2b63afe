// The kinds of object `box inspect` finds by name or id, in the order it looks (Docker's: a
// container first, then an image). Volumes and networks join by adding an entry here; nothing else
// in `inspect` knows the kinds.
import { BoxError } from '../errors';
import { ImageStore } from '../image/store';
import { inspectContainer } from '../runtime/inspect';
import { refresh } from '../runtime/lifecycle';
import { roots } from './context';
import { store } from './container/common';
import { inspectImage } from './image/inspect';

export interface Inspector {
  /** the name `--type` takes */
  type: string;
  /** the object as Docker-shaped JSON, or undefined when there is none by that name or id */
  find(query: string): Promise<Record<string, unknown> | undefined>;
}

export const INSPECTORS: Inspector[] = [
  {
    type: 'container',
    async find(query) {
      const s = store();
      const c = s.find(query);
      return c ? inspectContainer(await refresh(roots(), s, c), s) : undefined;
    },
  },
  {
    type: 'image',
    async find(query) {
      const images = new ImageStore(roots());
      let id: string | undefined;
      try {
        id = images.resolve(query);
      } catch (e) {
        if (!(e instanceof BoxError)) throw e; // a name that is no reference at all: no such image
      }
      return id && images.hasImage(id) ? inspectImage(images, id) : undefined;
    },
  },
];

export function inspectorTypes(): string[] {
  return INSPECTORS.map((i) => i.type);
}
