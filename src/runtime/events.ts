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
  const nowNs = BigInt(Date.now()) * 1000000n + (process.hrtime.bigint() % 1000000n);
  const ev: BoxEvent = containerEvent(action, c, attributes, Number(nowNs / 1000000000n), Number(nowNs));
  try {
    // One write(2) of a whole line with O_APPEND: concurrent writers never interleave within it.
    appendNoFollow(eventsFile(roots), JSON.stringify(ev) + '\n', 0o700);
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
