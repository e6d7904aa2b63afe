// `box events`: container events as they happen (and, with --since, from the past), Docker-style.
import * as fs from 'node:fs';
import { BoxError } from '../../errors';
import { BoxEvent, eventsFile } from '../../runtime/events';
import { parseTimeArg } from '../../runtime/logs';
import { printable, printableJson } from '../../util/printable';
import { CommandSpec, list, str } from '../args';
import { roots } from '../context';
import { goStruct, outputFormat } from '../template';

type Filter = (e: BoxEvent) => boolean;

const EVENT_KEYS = ['container', 'event', 'type', 'image', 'name', 'label', 'scope', 'network', 'volume'];
const EVENT_TYPES = [
  'container',
  'image',
  'network',
  'volume',
  'daemon',
  'plugin',
  'node',
  'service',
  'secret',
  'config',
];

/** An image name with Docker's default tag, so that busybox and busybox:latest are one image. */
function withTag(ref: string): string {
  return /[:@][^/]*$/.test(ref) ? ref : `${ref}:latest`;
}

/** An event of `type` whose actor is `v` (by id prefix or name): network=, volume=. */
function actorOf(e: BoxEvent, type: string, v: string): boolean {
  return e.Type === type && (e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v);
}

export function parseEventFilters(filters: string[]): Filter {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = f.slice(0, i);
    if (i < 1 || !EVENT_KEYS.includes(key)) {
      throw new BoxError(`invalid --filter "${f}": use ${EVENT_KEYS.map((k) => `${k}=`).join(', ')}`);
    }
    const value = f.slice(i + 1);
    if (key === 'type' && !EVENT_TYPES.includes(value))
      throw new BoxError(`invalid --filter "${f}": the types are ${EVENT_TYPES.join(', ')}`);
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  }
  // Values of one key are alternatives; different keys must all match (Docker's rule).
  return (e) =>
    [...byKey].every(([key, values]) =>
      values.some((v) => {
        if (key === 'container') return e.id.startsWith(v) || e.Actor.Attributes.name === v;
        if (key === 'event') return e.Action === v || e.Action.split(':')[0] === v;
        if (key === 'type') return e.Type === v;
        if (key === 'image')
          return withTag(e.from) === withTag(v) || withTag(e.Actor.Attributes.image ?? '') === withTag(v);
        if (key === 'name') return e.Actor.Attributes.name === v;
        if (key === 'scope') return e.scope === v;
        if (key === 'network' || key === 'volume') return actorOf(e, key, v);
        // label=KEY or label=KEY=VALUE: the container's labels are among the attributes
        const eq = v.indexOf('=');
        return eq < 0 ? v in e.Actor.Attributes : e.Actor.Attributes[v.slice(0, eq)] === v.slice(eq + 1);
      }),
    );
}

export function formatEvent(e: BoxEvent): string {
  const when = new Date(Math.floor(e.timeNano / 1e6))
    .toISOString()
    .replace(/\.(\d{3})Z$/, (_, ms) => `.${ms}${String(e.timeNano % 1e6).padStart(6, '0')}Z`);
  const attrs = Object.entries(e.Actor.Attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${when} ${e.Type} ${e.Action} ${e.id} (${attrs})`;
}

/** Docker's events.Message as templates see it (Go's field names); {{json .}} gives the event's own JSON. */
export function eventContext(e: BoxEvent) {
  return goStruct('events.Message', {
    Status: e.status,
    ID: e.id,
    From: e.from,
    Type: e.Type,
    Action: e.Action,
    Actor: goStruct('events.Actor', { ID: e.Actor.ID, Attributes: e.Actor.Attributes }),
    Scope: e.scope,
    Time: e.time,
    TimeNano: e.timeNano,
    toJSON: () => e,
  });
}

function readEvents(file: string, offset: number): { events: BoxEvent[]; offset: number } {
  let text: Buffer;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW); // never a symlinked file
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return { events: [], offset };
      text = Buffer.alloc(size - offset);
      fs.readSync(fd, text, 0, text.length, offset);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return { events: [], offset };
  }
  const complete = text.lastIndexOf(0x0a) + 1;
  const events = text
    .subarray(0, complete)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BoxEvent);
  return { events, offset: offset + complete };
}

export const eventsCommand: CommandSpec = {
  paths: [['events'], ['system', 'events']],
  summary: 'Show container events: past ones with --since, then new ones until --until or Ctrl-C.',
  flags: [
    {
      names: ['--since'],
      key: 'since',
      kind: 'string',
      value: 'time',
      description: 'show events since a time (RFC 3339, Unix seconds, or a duration like 10m)',
    },
    {
      names: ['--until'],
      key: 'until',
      kind: 'string',
      value: 'time',
      description: 'stop at this time (without it, follow new events)',
    },
    {
      names: ['--filter', '-f'],
      key: 'filter',
      kind: 'list',
      value: 'key=value',
      description: 'container=, event=, type=, image=, name=, label=KEY[=VALUE], scope=, network=, volume=',
    },
    {
      names: ['--format'],
      key: 'format',
      kind: 'string',
      value: 'string',
      description: "json (one object per line) or a Go template ('{{.Action}} {{.Actor.Attributes.name}}')",
    },
  ],
  positionals: [],
  async run(a) {
    const now = Date.now();
    const since = str(a, 'since') === undefined ? now : parseTimeArg('--since', str(a, 'since')!, now);
    const until = str(a, 'until') === undefined ? undefined : parseTimeArg('--until', str(a, 'until')!, now);
    const match = parseEventFilters(list(a, 'filter'));
    const json = str(a, 'format') === 'json';
    const template = str(a, 'format') && !json ? outputFormat(str(a, 'format')!) : undefined;
    const file = eventsFile(roots());
    let offset = 0;
    for (;;) {
      const got = readEvents(file, offset);
      offset = got.offset;
      for (const e of got.events) {
        const t = e.timeNano / 1e6;
        if (t < since || (until !== undefined && t >= until) || !match(e)) continue;
        // Attributes hold labels, which users and policy patches set: printed escaped.
        if (template) process.stdout.write(template.render([eventContext(e)]));
        else process.stdout.write((json ? printableJson(JSON.stringify(e)) : printable(formatEvent(e))) + '\n');
      }
      if (until !== undefined && Date.now() >= until) return 0;
      await new Promise((r) => setTimeout(r, 100));
    }
  },
};
