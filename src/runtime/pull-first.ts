// `run --pull` and `create --pull` (missing, always, never, as Docker): the image is pulled, if
// wanted, under the store's shared lock, and that lock is handed to createRecord, so garbage
// collection cannot remove the image between the pull and the container's record.
import { BoxError } from '../errors';
import { storeLock } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { CreateRequest } from './create';

export type PullMode = 'missing' | 'always' | 'never';

export function parsePullMode(value = 'missing'): PullMode {
  if (value !== 'missing' && value !== 'always' && value !== 'never') {
    throw new BoxError(`invalid --pull "${value}": use missing, always or never`);
  }
  return value;
}

/**
 * Pulls the request's image as `mode` says, through `pull` (the caller's: it reports progress);
 * `why` is 'missing' when the store lacks the image. Returns 0, or the exit status of a pull that
 * did not complete. On 0 the store's lock is held shared in req.storeLock, from before the pull
 * until createRecord has recorded the container.
 */
export async function pullFirst(
  req: CreateRequest,
  mode: PullMode,
  pull: (image: string, why: 'missing' | 'always') => Promise<number>,
): Promise<number> {
  if (mode === 'never') return 0;
  // Marked only when it pulls: a present image is only read until the record exists (createRecord).
  const lock = await storeLock(req.roots, 'shared', { markOnWrite: true });
  try {
    const present = mode === 'missing' && new ImageStore(req.roots).resolve(req.image) !== undefined;
    if (!present) lock.markWrites();
    const status = present ? 0 : await pull(req.image, mode);
    if (status === 0) req.storeLock = lock;
    return status;
  } finally {
    if (req.storeLock !== lock) lock.release();
  }
}
