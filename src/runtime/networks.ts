// A container's networks as the runtime sees them: src/network/setup.ts loaded only when a
// container has networks (netlink and nftables cost a start without them nothing), and its release
// after the container ended, which never fails the command that ends it.
import { ContainerRecord } from '../model';
import { Roots } from '../paths';

export const networkSetup = () => require('../network/setup') as typeof import('../network/setup');

/**
 * Releases a container's addresses and DNS names and rebuilds the ruleset, after it ended or failed
 * to start. A failure is only reported: whatever is left, the next allocation or sync reclaims.
 */
export async function releaseNetworks(
  roots: Roots,
  record: ContainerRecord,
  warn: (m: string) => void = () => undefined,
): Promise<void> {
  if (!record.config.networks?.length) return;
  try {
    await networkSetup().releaseNetworks(roots, record);
  } catch (err) {
    warn(`cannot release the networks of container ${record.name}: ${(err as Error).message}`);
  }
}
