// Container events: one JSON object per line, appended with O_APPEND by whichever process causes
// the event (a box command, the monitor's callback, the native monitor for health), in Docker's
// event shape. `box events` reads and follows the file. It lives under the runtime root: like
// Docker's events, it describes this boot only.
import { featurePaths, Roots } from '../paths';
import { appendNoFollow } from '../util/safe-open';
import { ContainerRecord } from '../model';

export type EventAction =
  | 'create'
  | 'start'
  | 'die'
  | 'oom'
  | 'kill'
  | 'stop'
  | 'restart'
  | 'destroy'
  | 'pause'
  | 'unpause'
  | 'exec_start'
  | 'exec_die'
  | 'health_status'
  | 'rename'
  | 'update'
  | 'policy';

export interface BoxEvent {
  Type: 'container';
  Action: string;
  status: string;
  id: string;
  from: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

export function eventsFile(roots: Roots): string {
  return featurePaths.events(roots);
}

/** An event's Actor.Attributes: as Docker, the container's labels, its image and name, then the event's own. */
function eventAttributes(
  c: Pick<ContainerRecord, 'name' | 'config'>,
  attributes: Record<string, string | number>,
): Record<string, string> {
  const attrs: Record<string, string> = { ...c.config.labels, image: c.config.image.ref, name: c.name };
  for (const [k, v] of Object.entries(attributes)) attrs[k] = String(v);
  return attrs;
}

/** An event in Docker's shape, its fields in Docker's order; the time is a number or a placeholder. */
function containerEvent<Time>(
  action: string,
  c: Pick<ContainerRecord, 'id' | 'name' | 'config'>,
  attributes: Record<string, string | number>,
  time: Time,
  timeNano: Time,
) {
  return {
    Type: 'container' as const,
    Action: action,
    status: action,
    id: c.id,
    from: c.config.image.ref,
    Actor: { ID: c.id, Attributes: eventAttributes(c, attributes) },
    scope: 'local' as const,
    time,
    timeNano,
  };
}

export function appendEvent(
  roots: Roots,
  action: EventAction | string,
  c: Pick<ContainerRecord, 'id' | 'name' | 'config'>,
  attributes: Record<string, string | number> = {},
): void {
  appendEvents(roots, [{ action, container: c, attributes }]);
}

/** An event appendEvents writes. */
export interface PendingEvent {
  action: EventAction | string;
  container: Pick<ContainerRecord, 'id' | 'name' | 'config'>;
  attributes?: Record<string, string | number>;
}

/**
 * Events of one moment, in order, appended together (a start's policy decisions and its create:
 * one open and write instead of one per event); nothing when the list is empty.
 */
export function appendEvents(roots: Roots, events: PendingEvent[]): void {
  if (!events.length) return;
  const nowNs = BigInt(Date.now()) * 1000000n + (process.hrtime.bigint() % 1000000n);
  const [time, timeNano] = [Number(nowNs / 1000000000n), Number(nowNs)];
  const lines = events.map(({ action, container, attributes = {} }) => {
    const ev: BoxEvent = containerEvent(action, container, attributes, time, timeNano);
    return JSON.stringify(ev) + '\n';
  });
  try {
    // One write(2) of whole lines with O_APPEND: concurrent writers never interleave within it.
    appendNoFollow(eventsFile(roots), lines.join(''), 0o700);
  } catch {
    /* events are informational: never fail a container operation because of them */
  }
}

/**
 * The line of an event a native helper appends itself (native/PROTOCOL.md: `exit-event`), in
 * appendEvent's shape: {{time}} and {{timeNano}} stand for the time, attribute values may hold
 * the helper's other placeholders (e.g. {{exitCode}}).
 */
export function eventTemplate(
  action: EventAction,
  c: Pick<ContainerRecord, 'id' | 'name' | 'config'>,
  attributes: Record<string, string | number> = {},
): string {
  const ev = containerEvent(action, c, attributes, '{{time}}', '{{timeNano}}');
  return JSON.stringify(ev).replace('"{{time}}"', '{{time}}').replace('"{{timeNano}}"', '{{timeNano}}');
}
