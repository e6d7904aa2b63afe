// `box attach`, and attaching for `start -a/-i`: through the monitor's attach socket for a container
// with a terminal or input, else by following its log.
import type { Socket } from 'node:net';
import { BoxError } from '../../errors';
import {
  attachSession,
  attachSocketPath,
  connectAttach,
  DEFAULT_DETACH_KEYS,
  parseDetachKeys,
} from '../../runtime/attach';
import { ContainerStore } from '../../runtime/containers';
import { find, refresh, signalContainer, waitFinalized } from '../../runtime/lifecycle';
import { ContainerRecord } from '../../model';
import { attachToLog } from '../../runtime/follow-log';
import { LogEntry } from '../../runtime/logs';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { printLogEntries } from './logs';

export const printEntries = (entries: LogEntry[]) => printLogEntries(entries, false);

/** A container created with -t or -i is attached through its monitor's socket (PROTOCOL.md). */
export const attachable = (c: ContainerRecord) => c.config.tty || c.config.openStdin;

export const DETACH_KEYS_FLAG = {
  names: ['--detach-keys'],
  key: 'detachKeys',
  kind: 'string' as const,
  value: 'keys',
  description: 'key sequence that detaches from a container with a terminal (default ctrl-p,ctrl-q)',
};

/**
 * The user's terminal or pipes connected to the container through the attach socket until it
 * stops (its exit code) or the detach keys were typed (1, as Docker).
 */
export async function attachThrough(
  store: ContainerStore,
  c: ContainerRecord,
  sock: Socket,
  stdin: boolean,
  detachKeys: string | undefined,
): Promise<number> {
  const keys = detachKeys === undefined ? DEFAULT_DETACH_KEYS : parseDetachKeys(detachKeys);
  const how = await attachSession(sock, {
    tty: c.config.tty,
    stdin: stdin && c.config.openStdin,
    closeStdin: c.config.stdinOnce ?? false,
    detachKeys: keys,
    onSignal: (sig) => {
      const cur = store.get(c.id);
      if (cur?.state.status === 'running') signalContainer(roots(), cur, sig);
    },
  });
  if (how === 'detached') {
    process.stderr.write('read escape sequence\n');
    return 1;
  }
  const done = await waitFinalized(roots(), store, c);
  return done?.state.exitCode ?? 0;
}

/** The attach socket of a running container. */
export async function connectRunning(store: ContainerStore, c: ContainerRecord): Promise<Socket> {
  const fresh = await refresh(roots(), store, store.get(c.id) ?? c);
  if (fresh.state.status !== 'running') throw new BoxError(`container ${c.name} is not running`);
  try {
    return await connectAttach(attachSocketPath(roots(), c.id));
  } catch (err) {
    throw new BoxError(`cannot attach to ${c.name}: its monitor does not answer (${(err as Error).message})`);
  }
}

export const attachCommand: CommandSpec = {
  paths: [['attach'], ['container', 'attach']],
  summary:
    'Attach to a running container: its output until it stops, its terminal and input if it was created with -t or -i.',
  flags: [
    DETACH_KEYS_FLAG,
    { names: ['--no-stdin'], key: 'noStdin', kind: 'bool', description: 'do not attach standard input' },
  ],
  positionals: [{ name: 'CONTAINER' }],
  async run(a) {
    const detachKeys = str(a, 'detachKeys');
    if (detachKeys !== undefined) parseDetachKeys(detachKeys);
    const store = new ContainerStore(roots());
    const c = await refresh(roots(), store, find(store, a.positionals[0]));
    if (c.state.status !== 'running') throw new BoxError(`container ${a.positionals[0]} is not running`);
    if (attachable(c)) return attachThrough(store, c, await connectRunning(store, c), !bool(a, 'noStdin'), detachKeys);
    return attachToLog(roots(), store, c, printEntries);
  },
};
