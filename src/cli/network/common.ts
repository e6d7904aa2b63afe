// Shared by the `box network` commands: the stores of the current roots, and the Linux bridge a
// removed network leaves behind.
import { ContainerStore } from '../../runtime/containers';
import { NetworkStore } from '../../network/store';
import { roots } from '../context';

export function stores(): { networks: NetworkStore; containers: ContainerStore } {
  const r = roots();
  return { networks: new NetworkStore(r), containers: new ContainerStore(r) };
}

/** KEY=VALUE list entries (--label, -o) as an object; a bare KEY has an empty value, as Docker's. */
export function keyValues(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf('=');
    out[i < 0 ? e : e.slice(0, i)] = i < 0 ? '' : e.slice(i + 1);
  }
  return out;
}
