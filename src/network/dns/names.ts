// The names file of a network: which container answers to which names, read by the network's DNS
// responder. `<runroot>/networks/<id>/names.json` is only ever replaced whole (temp + rename)
// under the network's DNS lock, so the responder reads either the old table or the new one, and
// two box commands changing it at once never lose each other's entry. The file is removed with
// its last entry: no file means the network has no containers, and the responder then ends.
import * as fs from 'node:fs';
import { isIPv4 } from 'node:net';
import { errnoCode } from '../../errors';
import { CONTAINER_ID_RE, featurePaths, layout, Roots } from '../../paths';
import { mkdirp, readJsonIfExists, writeJsonAtomic } from '../../util/fs';
import { lockDns } from '../locks';

export interface NameEntry {
  containerId: string;
  /** the container's name, its aliases on this network, its short id (12 hex) */
  names: string[];
  ipv4: string;
}

interface NamesFile {
  entries: NameEntry[];
}

/** Network ids are made as container ids are. */
const NETWORK_ID_RE = CONTAINER_ID_RE;

/**
 * A DNS name as a container may be called: labels of letters, digits, `_` and `-` (not first), as
 * Docker's container names ([a-zA-Z0-9][a-zA-Z0-9_.-]*) split at their dots.
 */
const NAME_RE = /^(?=.{1,253}$)[a-z0-9_][a-z0-9_-]{0,62}(\.[a-z0-9_][a-z0-9_-]{0,62})*$/i;

export function isDnsName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Whether a value read from the file is an entry box could have written (anything else is skipped). */
function isEntry(e: unknown): e is NameEntry {
  const o = e as Partial<NameEntry> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.containerId === 'string' &&
    CONTAINER_ID_RE.test(o.containerId) &&
    typeof o.ipv4 === 'string' &&
    isIPv4(o.ipv4) &&
    Array.isArray(o.names) &&
    o.names.every((n) => typeof n === 'string' && isDnsName(n))
  );
}

/**
 * The network's entries now; [] when it has none (no file). A damaged entry is left out, and a
 * file that is not JSON at all counts as empty: box only ever renames a whole file into place, so
 * that is a hand-edited one, and the containers' next starts and a reconcile write it anew.
 */
export function readNames(roots: Roots, networkId: string): NameEntry[] {
  let file: NamesFile | undefined;
  try {
    file = readJsonIfExists<NamesFile>(featurePaths.dnsNames(roots, networkId));
  } catch (err) {
    if (err instanceof SyntaxError) return [];
    throw err;
  }
  return Array.isArray(file?.entries) ? file.entries.filter(isEntry) : [];
}

/** Replaces the file with `entries` (removes it when there are none). Caller holds the DNS lock. */
function writeNames(roots: Roots, networkId: string, entries: NameEntry[]): void {
  const file = featurePaths.dnsNames(roots, networkId);
  if (entries.length === 0) {
    fs.rmSync(file, { force: true });
    return;
  }
  mkdirp(layout.runNetwork(roots, networkId));
  // Runtime state, gone with a reboot anyway: no fsync on the path of every container start.
  writeJsonAtomic(file, { entries } satisfies NamesFile, 0o600, false);
}

/** Runs `change` on the network's entries under its DNS lock and writes back what it returns. */
async function changeNames(
  roots: Roots,
  networkId: string,
  change: (entries: NameEntry[]) => NameEntry[],
): Promise<void> {
  const lock = await lockDns(roots, networkId);
  try {
    const before = readNames(roots, networkId);
    const after = change(before);
    if (after !== before) writeNames(roots, networkId, after);
  } finally {
    lock.release();
  }
}

/**
 * Adds a container's names on a network, replacing what it had there. A name DNS cannot carry
 * (an alias with a space) is left out: the container is still reached by its other names.
 */
export async function publishNames(roots: Roots, networkId: string, entry: NameEntry): Promise<void> {
  const names = [...new Set(entry.names.filter(isDnsName))];
  const clean: NameEntry = { containerId: entry.containerId, names, ipv4: entry.ipv4 };
  if (!isEntry(clean))
    throw new Error(`refusing DNS names of ${entry.containerId.slice(0, 80)}: not a container id and IPv4`);
  await changeNames(roots, networkId, (all) => [...all.filter((e) => e.containerId !== entry.containerId), clean]);
}

/** Takes a container's names off a network (nothing happens when it had none). */
export async function unpublishNames(roots: Roots, networkId: string, containerId: string): Promise<void> {
  await changeNames(roots, networkId, (all) =>
    all.some((e) => e.containerId === containerId) ? all.filter((e) => e.containerId !== containerId) : all,
  );
}

/**
 * Drops the entries of containers that no longer exist (a container killed before it could
 * unpublish, a record removed by hand); `isLive` says which do. Returns the ids dropped.
 */
export async function reconcileNames(
  roots: Roots,
  networkId: string,
  isLive: (containerId: string) => boolean,
): Promise<string[]> {
  const dropped: string[] = [];
  await changeNames(roots, networkId, (all) => {
    const kept = all.filter((e) => isLive(e.containerId) || !dropped.push(e.containerId));
    return dropped.length ? kept : all;
  });
  return dropped;
}

/** The networks that have a names file now (ids), for a reconcile that walks them all. */
export function networksWithNames(roots: Roots): string[] {
  try {
    return fs
      .readdirSync(layout.runNetworks(roots))
      .filter((id) => NETWORK_ID_RE.test(id) && readNames(roots, id).length > 0);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
