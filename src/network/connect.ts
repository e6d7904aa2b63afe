// `box network connect` and `disconnect`: a container's record gains or loses an endpoint under
// the container's lock, and a running container gets or loses the interface at once (setup.ts).
// A connect that fails on a running container leaves the record as it was. A connect is judged
// by the container's policies first, with the new network added (src/policy/connect-admission.ts).
import { BoxError } from '../errors';
import type { ContainerRecord, NetworkEndpointConfig } from '../model';
import type { Roots } from '../paths';
import { admitConnect, type ConnectSources } from '../policy/connect-admission';
import { lockContainer } from '../runtime/container-lock';
import { ContainerStore } from '../runtime/containers';
import { checkRequestedIp } from './ipam';
import { connectRunning, disconnectRunning } from './setup';
import { bridgeParams, NetworkRecord } from './store';

export interface ConnectOptions {
  ip?: string;
  aliases: string[];
  /** how a policy's warnings are shown (default: on stderr) */
  warn?: (m: string) => void;
}

function isRunning(c: ContainerRecord): c is ContainerRecord & { state: { pid: number } } {
  return c.state.status === 'running' && !c.state.restarting && c.state.pid !== undefined;
}

export async function connect(
  store: ContainerStore,
  n: NetworkRecord,
  record: ContainerRecord,
  o: ConnectOptions,
): Promise<void> {
  const roots = store.roots;
  if (n.Driver !== 'bridge') throw new BoxError(`container cannot be connected to the ${n.Name} network`, 1);
  if (record.config.network === 'host' || record.config.network === 'none') {
    throw new BoxError(
      `container ${record.name} runs with --network ${record.config.network}: it cannot be connected`,
      1,
    );
  }
  if (o.ip !== undefined) checkRequestedIp(n, bridgeParams(roots, n), o.ip);
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) throw new BoxError(`no such container: ${record.name}`, 1);
    const endpoints = cur.config.networks ?? [];
    if (endpoints.some((e) => e.networkId === n.Id)) {
      throw new BoxError(`container ${cur.name} is already connected to network ${n.Name}`, 1);
    }
    const e: NetworkEndpointConfig = { networkId: n.Id, name: n.Name, aliases: o.aliases };
    if (o.ip !== undefined) e.ip = o.ip;
    const admitted = await admitConnect(roots, cur, e, connectSources(roots, cur.id), o.warn);
    try {
      const before = cur.config.networks;
      cur.config.networks = [...endpoints, e];
      store.save(cur);
      if (isRunning(cur)) {
        try {
          await connectRunning(roots, cur, e, cur.state.pid);
        } catch (err) {
          cur.config.networks = before;
          store.save(cur);
          throw err;
        }
      }
    } finally {
      admitted?.();
    }
  } finally {
    lock.release();
  }
}

/**
 * Without force, a container not connected to the network is an error (exit 1, as Docker's). `n`
 * may be a network already removed, known only by the container's endpoint (its id and name).
 */
export async function disconnect(
  store: ContainerStore,
  n: Pick<NetworkRecord, 'Id' | 'Name'>,
  record: ContainerRecord,
  force: boolean,
): Promise<void> {
  const roots = store.roots;
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) throw new BoxError(`no such container: ${record.name}`, 1);
    const endpoints = cur.config.networks ?? [];
    if (!endpoints.some((e) => e.networkId === n.Id)) {
      if (force) return;
      throw new BoxError(`container ${cur.name} is not connected to network ${n.Name}`, 1);
    }
    if (isRunning(cur)) await disconnectRunning(roots, cur, n.Id, cur.state.pid);
    cur.config.networks = endpoints.filter((e) => e.networkId !== n.Id);
    store.save(cur);
  } finally {
    lock.release();
  }
}

/** The network a container's endpoint names, for a network that was removed meanwhile. */
export function removedNetworkOf(
  record: ContainerRecord,
  query: string,
): Pick<NetworkRecord, 'Id' | 'Name'> | undefined {
  const e = (record.config.networks ?? []).find((x) => x.name === query || x.networkId.startsWith(query));
  return e && { Id: e.networkId, Name: e.name };
}

/** The committed resources and the event log the connect's policies are handed (lazily loaded). */
function connectSources(roots: Roots, id: string): ConnectSources {
  return {
    committed: () => {
      const { committedResources } = require('../runtime/committed') as typeof import('../runtime/committed');
      return committedResources(roots, id);
    },
    event: (container, attributes) => {
      const { appendEvent } = require('../runtime/events') as typeof import('../runtime/events');
      appendEvent(roots, 'policy', container, attributes);
    },
  };
}
