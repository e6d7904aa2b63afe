// Following a detached container's log while it runs: `logs -f`, and `start -a` or `attach` of a
// container without a terminal or input (its output is its log). The monitor writes the log; box
// polls the file and the record until the container has stopped and the last lines are read.
import { Roots } from '../paths';
import { ContainerRecord } from '../model';
import { ContainerStore } from './containers';
import { refresh, signalContainer, waitFinalized } from './lifecycle';
import { logEnd, LogCursor, LogEntry, readFrom } from './logs';
import { logFile } from './monitor-state';

/** How often the log and the record are looked at again. */
const POLL_MS = 50;

/**
 * Hands `onEntries` what the log gains after `from` until the container is no longer running;
 * returns the record that said so.
 */
export async function followLog(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  from: LogCursor,
  onEntries: (entries: LogEntry[]) => void,
): Promise<ContainerRecord> {
  const file = logFile(store.dir(record.id));
  let cursor = from;
  for (;;) {
    const fresh = await refresh(roots, store, store.get(record.id) ?? record);
    const got = readFrom(file, cursor);
    cursor = got.cursor;
    onEntries(got.entries);
    if (fresh.state.status !== 'running') {
      onEntries(readFrom(file, cursor).entries); // what it wrote between the read and its end
      return fresh;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Attaches to a container's output through its log: what it writes after `from` (default: from
 * now) until it stops, with SIGINT and SIGTERM sent on to it meanwhile. Returns its exit code.
 */
export async function attachToLog(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  onEntries: (entries: LogEntry[]) => void,
  from?: LogCursor,
): Promise<number> {
  const forward = (signal: NodeJS.Signals) => {
    const current = store.get(record.id);
    if (current?.state.status === 'running') signalContainer(roots, current, signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const start = from ?? logEnd(logFile(store.dir(record.id)));
    const stopped = await followLog(roots, store, record, start, onEntries);
    const done = await waitFinalized(roots, store, stopped);
    return done?.state.exitCode ?? 0;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
