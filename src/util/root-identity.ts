// The storage root a box process works in must still be the one it started with before it makes
// host-global objects for it (bridges, nftables tables, DNS responders). A box stopped or slowed
// while its root was deleted (a test's temporary root, a wiped store) would otherwise make them
// again once it goes on, named after a root that no longer exists, and nobody would remove them.
import * as fs from 'node:fs';
import { BoxError } from '../errors';
import type { Roots } from '../paths';

/** A directory's identity: its inode, and its birth time, since a file system reuses a freed inode. */
interface Identity {
  dev: number;
  ino: number;
  born: number;
}

/** Each root as this process first saw it; null: it did not exist then (this process makes it). */
const firstSeen = new Map<string, Identity | null>();

function identityOf(dir: string): Identity | null {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  return st ? { dev: st.dev, ino: st.ino, born: st.birthtimeMs } : null;
}

/** Notes the storage root as it is now (once per process and root): called when the roots are trusted. */
export function noteRoot(roots: Pick<Roots, 'root'>): void {
  if (!firstSeen.has(roots.root)) firstSeen.set(roots.root, identityOf(roots.root));
}

/** Whether the storage root existed when this process first looked at it. */
export function rootExistedAtStart(roots: Pick<Roots, 'root'>): boolean {
  noteRoot(roots);
  return firstSeen.get(roots.root) !== null;
}

/**
 * Refuses to go on when the storage root is gone or replaced since this process first saw it. A
 * root that did not exist then is the one this process makes: it is noted the first time it is
 * seen here (`box internal` callbacks, spawned only for a root that exists, refuse a missing one
 * at their start). `what`: the host object about to be made, for the message.
 */
export function checkRootStillThere(roots: Pick<Roots, 'root'>, what: string): void {
  noteRoot(roots);
  const now = identityOf(roots.root);
  const first = firstSeen.get(roots.root);
  if (first === null) {
    if (now) firstSeen.set(roots.root, now);
    return;
  }
  if (now && now.dev === first?.dev && now.ino === first.ino && now.born === first.born) return;
  const how = now ? 'replaced' : 'removed';
  throw new BoxError(`the storage root ${roots.root} was ${how} while box ran: ${what} not made for it`);
}
