// A network's lock files under <runroot>/locks/networks: ID.lock (its address allocations) and
// ID.dns.lock (its DNS names and responder). They go with the network (as its runtime directory): `network rm` and prune
// delete them while holding them, so each is locked as a file a holder may delete (a lock on a
// deleted file is never mistaken for the current one; see lockFile's `deletable`).
import * as fs from 'node:fs';
import { Lock, lockFile, tryLockDeletableFile } from '../image/locks';
import { LOCK_EX } from '../linux/syscalls';
import { layout, lockPaths, Roots } from '../paths';

/** The lock on a network's address allocations. */
export function lockAllocations(roots: Roots, networkId: string): Promise<Lock> {
  return lockFile(lockPaths.network(roots, networkId), LOCK_EX, undefined, undefined, true);
}

/** The lock on a network's DNS names and responder. */
export function lockDns(roots: Roots, networkId: string): Promise<Lock> {
  return lockFile(lockPaths.networkDns(roots, networkId), LOCK_EX, undefined, undefined, true);
}

/** lockDns if nobody holds it now; undefined otherwise. Never waits. */
export function tryLockDns(roots: Roots, networkId: string): Lock | undefined {
  return tryLockDeletableFile(lockPaths.networkDns(roots, networkId));
}

/**
 * Deletes the runtime files of a network whose record is gone: its runtime directory and DNS lock
 * under that lock, its allocations' lock file, whose lock the caller holds.
 */
export async function removeNetworkRuntimeFiles(roots: Roots, networkId: string): Promise<void> {
  const dns = await lockDns(roots, networkId);
  try {
    fs.rmSync(layout.runNetwork(roots, networkId), { recursive: true, force: true });
    fs.rmSync(lockPaths.networkDns(roots, networkId), { force: true });
  } finally {
    dns.release();
  }
  fs.rmSync(lockPaths.network(roots, networkId), { force: true });
}
