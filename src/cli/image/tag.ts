// `box tag`: another name for an image.
import { storeLock } from '../../image/store-lock';
import { parseImageRef } from '../../image/reference';
import { ImageStore } from '../../image/store';
import { CommandSpec } from '../args';
import { roots } from '../context';
import { mustResolve } from './common';

export const tagCommand: CommandSpec = {
  paths: [['tag'], ['image', 'tag']],
  summary: 'Give an image another name (TARGET refers to SOURCE).',
  flags: [],
  positionals: [{ name: 'SOURCE_IMAGE[:TAG]' }, { name: 'TARGET_IMAGE[:TAG]' }],
  examples: ['box tag busybox:latest registry.local:5000/tools/busybox:1.36'],
  async run(a) {
    const store = new ImageStore(roots());
    const target = parseImageRef(a.positionals[1]);
    const lock = await storeLock(store.roots, 'shared');
    try {
      const id = mustResolve(store, a.positionals[0]);
      await store.registerImage(id);
      store.tag(target, id);
    } finally {
      lock.release();
    }
    return 0;
  },
};
