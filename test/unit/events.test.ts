// Container events: the line box appends itself and the template a native helper fills in
// (`exit-event`) are one shape, so `box events` reads both alike.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { appendEvent, appendEvents, eventsFile, eventTemplate } from '../../src/runtime/events';

const container = {
  id: 'a'.repeat(64),
  name: 'web',
  config: { image: { ref: 'docker.io/library/busybox:latest' }, labels: { tier: 'front' } },
} as unknown as Parameters<typeof appendEvent>[2];

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

it("a helper's filled-in template is, byte for byte, the line box appends for the same event", () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-events-'));
  const roots = { root: dir, runroot: path.join(dir, 'run') };
  appendEvent(roots, 'exec_die', container, { execID: '7', exitCode: 3 });
  const line = fs.readFileSync(eventsFile(roots), 'utf8');
  const { time, timeNano } = JSON.parse(line);
  const filled = eventTemplate('exec_die', container, { execID: '7', exitCode: '{{exitCode}}' })
    .replace('{{timeNano}}', String(timeNano))
    .replace('{{time}}', String(time))
    .replace('{{exitCode}}', '3');
  expect(filled + '\n').toBe(line);
  expect(Object.keys(JSON.parse(line))).toEqual([
    'Type',
    'Action',
    'status',
    'id',
    'from',
    'Actor',
    'scope',
    'time',
    'timeNano',
  ]);
});

it("a start's events appended together are the lines appended one by one, in order (and none writes nothing)", () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-events-'));
  const roots = { root: dir, runroot: path.join(dir, 'run') };
  appendEvents(roots, []);
  expect(fs.existsSync(eventsFile(roots))).toBe(false);
  appendEvents(roots, [
    { action: 'policy', container, attributes: { policy: 'strict', decision: 'allow' } },
    { action: 'create', container },
  ]);
  appendEvent(roots, 'policy', container, { policy: 'strict', decision: 'allow' });
  appendEvent(roots, 'create', container);
  const lines = fs.readFileSync(eventsFile(roots), 'utf8').split('\n');
  const withoutTime = (l: string) => ({ ...JSON.parse(l), time: 0, timeNano: 0 });
  expect(lines.length).toBe(5);
  expect(lines.slice(0, 2).map(withoutTime)).toEqual(lines.slice(2, 4).map(withoutTime));
  expect(lines.slice(0, 2).map((l) => JSON.parse(l).Action)).toEqual(['policy', 'create']);
});
