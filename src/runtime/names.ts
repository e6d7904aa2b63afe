// Container names: generated ones in Docker's "adjective_noun" style (from word lists of our own),
// and the registry that reserves them, one symlink names/<name> -> <id> each: symlink(2) fails if
// the name exists, so two concurrent commands can never both get one. A name whose container will
// never exist (its creation was killed) is reclaimed by the next command that wants it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { lockFile, tryLockFile } from '../image/locks';
import { CONTAINER_ID_RE, layout, lockPaths, Roots } from '../paths';
import { randomIndex } from '../util/random';
import { mkdirp } from '../util/fs';
import { tryLockContainer } from './container-lock';

const ADJECTIVES = [
  'amber',
  'brave',
  'calm',
  'clever',
  'eager',
  'fancy',
  'gentle',
  'happy',
  'jolly',
  'keen',
  'lively',
  'merry',
  'nimble',
  'proud',
  'quiet',
  'rapid',
  'silent',
  'steady',
  'swift',
  'tidy',
  'vivid',
  'witty',
  'bold',
  'bright',
  'crisp',
  'daring',
  'fresh',
  'golden',
  'humble',
  'lucid',
];
const NOUNS = [
  'otter',
  'falcon',
  'maple',
  'harbor',
  'comet',
  'lantern',
  'meadow',
  'pebble',
  'river',
  'summit',
  'willow',
  'badger',
  'cedar',
  'dune',
  'ember',
  'fjord',
  'glacier',
  'heron',
  'island',
  'juniper',
  'kestrel',
  'lagoon',
  'marlin',
  'nebula',
  'orchid',
  'prairie',
  'quartz',
  'raven',
  'spruce',
  'tundra',
];

export function generateName(): string {
  return `${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${NOUNS[randomIndex(NOUNS.length)]}_${randomIndex(1000)}`;
}

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The name entry's path; only for a valid name (a name read from anywhere may be `../x`). */
function nameFile(roots: Roots, name: string): string | undefined {
  return NAME_RE.test(name) && name.length <= 255 ? path.join(layout.names(roots), name) : undefined;
}

/** What names/<name> links to, if anything (not necessarily a valid id). */
function linkOf(roots: Roots, name: string): string | undefined {
  const file = nameFile(roots, name);
  try {
    return file === undefined ? undefined : fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

/** The id of the container named `name`; undefined for an unknown or invalid name or a link that is not an id. */
export function idForName(roots: Roots, name: string): string | undefined {
  const id = linkOf(roots, name);
  return id !== undefined && CONTAINER_ID_RE.test(id) ? id : undefined;
}

export function nameInUseError(name: string, owner: string | undefined): BoxError {
  const by = (owner ?? 'another container').slice(0, 12);
  return new BoxError(
    `the container name "${name}" is already in use by container "${by}": remove it or choose another name`,
  );
}

/**
 * Links `name` to `id`; false if another container has it. A name left by a creation that was
 * killed before its record existed is taken back first.
 */
export async function claimName(roots: Roots, name: string, id: string): Promise<boolean> {
  const file = nameFile(roots, name);
  if (file === undefined) throw new BoxError(`invalid container name "${name}"`);
  mkdirp(layout.names(roots), 0o700);
  for (let reclaimed = false; ; reclaimed = true) {
    try {
      fs.symlinkSync(id, file);
      return true;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    if (reclaimed || !(await reclaimStaleName(roots, name))) return false;
  }
}

/**
 * Deletes names/<name> if the container it links to will never exist. Reclaimers take the names
 * lock, so two of them never delete each other's fresh link; a creation holds its container's
 * lock from linking the name until its record is in place, so a free lock and no record mean
 * the creation died.
 */
async function reclaimStaleName(roots: Roots, name: string): Promise<boolean> {
  const lock = await lockFile(lockPaths.names(roots));
  try {
    return deleteIfStale(roots, name);
  } finally {
    lock.release();
  }
}

/**
 * The next `ps` or `rm` deletes every name a killed creation left (a name nobody will ever have
 * listed otherwise), if it can have the names lock at once; else a later one does.
 */
export function sweepStaleNames(roots: Roots): void {
  const lock = tryLockFile(lockPaths.names(roots));
  if (!lock) return;
  try {
    for (const name of listNames(roots)) {
      const owner = linkOf(roots, name);
      const gone =
        owner === undefined || !CONTAINER_ID_RE.test(owner) || !fs.existsSync(layout.container(roots, owner));
      if (gone) deleteIfStale(roots, name);
    }
  } finally {
    lock.release();
  }
}

/** Deletes names/<name> if its container will never exist, with the names lock held: true if the name is free now. */
function deleteIfStale(roots: Roots, name: string): boolean {
  const owner = linkOf(roots, name);
  if (owner === undefined && !fs.existsSync(nameFile(roots, name)!)) return true; // released meanwhile: try again
  if (owner !== undefined && CONTAINER_ID_RE.test(owner)) {
    if (fs.existsSync(layout.container(roots, owner))) return false;
    // a live creation holds its staging directory's lock (which becomes the container's)
    const creation = tryLockContainer(roots, owner);
    if (creation === 'busy') return false;
    if (creation !== 'absent') creation.release();
    if (fs.existsSync(layout.container(roots, owner))) return false; // finished just before we looked
  }
  // a dead creation's link, or something that is no link to an id (box made neither)
  fs.rmSync(nameFile(roots, name)!, { recursive: true, force: true });
  return true;
}

/** Removes names/<name> if it still links to `id` (a rename or a reclaim may have moved it). */
export function releaseName(roots: Roots, name: string, id: string): void {
  if (linkOf(roots, name) === id) fs.rmSync(nameFile(roots, name)!, { force: true });
}

/** Every name linked to `id`: a damaged record cannot tell its own. */
export function namesOf(roots: Roots, id: string): string[] {
  return listNames(roots).filter((n) => linkOf(roots, n) === id);
}

function listNames(roots: Roots): string[] {
  try {
    return fs.readdirSync(layout.names(roots));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
