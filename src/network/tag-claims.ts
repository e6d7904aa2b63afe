// Host-wide claims of storage-root tags. The names of a root's host-global network objects carry
// 4 hex digits of its path (kernel-names.ts), so two roots can get one tag: they would then share
// a default bridge (each giving it its own subnet's address) and an nftables table (each rewriting
// the other's rules), and `system check --fix` of one would take the other's bridges for its own.
// Before box makes such objects for a root, the root claims its tag: ROOT_TAG_CLAIMS_DIR/<tag>
// holds the path of the root that owns it. A tag another existing root holds is refused; the
// claim of a root that is gone (a deleted test root) is taken over. Names stay what they were
// (no stored state changes); the claims live in /run, emptied at boot like the kernel objects.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { lockFile } from '../image/locks';
import type { Roots } from '../paths';
import { mkdirp, readFileIfExists, writeFileAtomic } from '../util/fs';
import { defaultBridgeName, nftTableName, ROOT_TAG_CLAIMS_DIR, rootTag } from './kernel-names';

/** Roots this process has claimed their tag for: a claim, once made, is never taken from a live root. */
const claimed = new Set<string>();

/** The claims directory, made root's alone; one another user made or a link is refused. */
function claimsDir(): string {
  let st: fs.Stats;
  try {
    mkdirp(ROOT_TAG_CLAIMS_DIR, 0o700);
    st = fs.lstatSync(ROOT_TAG_CLAIMS_DIR);
  } catch (err) {
    throw new BoxError(`cannot make ${ROOT_TAG_CLAIMS_DIR} (${(err as Error).message}): box needs a writable /run`);
  }
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw new BoxError(`${ROOT_TAG_CLAIMS_DIR} is not a directory only root may write: remove it`);
  return ROOT_TAG_CLAIMS_DIR;
}

/** The root that holds the tag's claim now, if any. */
function holderOf(tag: string): string | undefined {
  return readFileIfExists(path.join(ROOT_TAG_CLAIMS_DIR, tag));
}

/**
 * The other existing storage root that holds this root's tag, if any: then the objects named with
 * the tag are that root's (`system check` leaves them alone). Reads only; claims nothing.
 */
export function otherHolderOfTag(roots: Pick<Roots, 'root'>): string | undefined {
  const tag = rootTag(roots);
  const holder = tag === '' ? undefined : holderOf(tag);
  return holder !== undefined && holder !== roots.root && fs.existsSync(holder) ? holder : undefined;
}

/**
 * Makes sure no other existing storage root names its host-global objects as this one does: the
 * tag is claimed for this root (or already was), or a BoxError says which root holds it.
 */
export async function claimRootTag(roots: Pick<Roots, 'root'>): Promise<void> {
  const tag = rootTag(roots);
  if (tag === '' || claimed.has(roots.root)) return;
  if (holderOf(tag) !== roots.root) {
    const dir = claimsDir();
    const lock = await lockFile(path.join(dir, 'claims.lock'));
    try {
      const holder = otherHolderOfTag(roots);
      if (holder !== undefined)
        throw new BoxError(
          `storage root ${roots.root} would share its network objects (bridge ${defaultBridgeName(roots)}, ` +
            `nftables table ${nftTableName(roots)}) with storage root ${holder}, whose path gives the same tag ` +
            `${tag}: use another --root path`,
        );
      if (holderOf(tag) !== roots.root) writeFileAtomic(path.join(dir, tag), roots.root, 0o600, false);
    } finally {
      lock.release();
    }
  }
  claimed.add(roots.root);
}
