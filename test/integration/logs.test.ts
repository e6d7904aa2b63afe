// `box logs` of detached containers: size-based rotation, --since/--until, and follow mode across
// rotations until the container stops.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, exitOf, runDetached, until, waitForOutput } from '../support/box';

const numbered = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(/^line-(\d+)$/.exec(l)![1]));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('container logs', () => {
  const t = busyboxRoot();

  it('rotates by size: max-file files of at most max-size each, and logs shows the retained lines in order', () => {
    const id = runDetached(
      t,
      '--name',
      'rot',
      '--log-opt',
      'max-size=1k',
      '--log-opt',
      'max-file=2',
      'busybox',
      'sh',
      '-c',
      'i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done',
    );
    expect(t.box(['wait', 'rot']).stdout).toBe('0\n');
    const dir = path.join(t.root, 'containers', id);
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('container.log'))
      .sort();
    expect(files).toEqual(['container.log', 'container.log.1']);
    for (const f of files) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(1024);
    // the older file holds the lines before the newer one's
    const first = (f: string) =>
      numbered(
        fs
          .readFileSync(path.join(dir, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { log: string }).log)
          .join(''),
      )[0];
    expect(first('container.log.1')).toBeLessThan(first('container.log'));
    const shown = numbered(t.box(['logs', 'rot']).stdout);
    expect(shown.length).toBeGreaterThan(10);
    expect(shown).toEqual(range(100 - shown.length, 99)); // the newest lines, none missing, in order
    expect(numbered(t.box(['logs', '--tail', '3', 'rot']).stdout)).toEqual([97, 98, 99]);
    t.box(['rm', 'rot']);
  });

  it('--since and --until select lines by time', () => {
    runDetached(
      t,
      '--name',
      'times',
      'busybox',
      'sh',
      '-c',
      'echo before; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo after',
    );
    until(
      'the first line',
      () => t.box(['logs', 'times']).stdout,
      (o) => o === 'before\n',
    );
    const between = new Date(Date.now() + 1).toISOString();
    until(
      'a later clock',
      () => Date.now(),
      (n) => n > Date.parse(between) + 1,
    );
    expect(t.box(['exec', 'times', 'touch', '/tmp/go']).status).toBe(0);
    expect(t.box(['wait', 'times']).stdout).toBe('0\n');
    expect(t.box(['logs', '--since', between, 'times']).stdout).toBe('after\n');
    expect(t.box(['logs', '--until', between, 'times']).stdout).toBe('before\n');
    expect(t.box(['logs', '--since', String(Date.parse(between) / 1000), 'times']).stdout).toBe('after\n');
    expect(t.box(['logs', '--since', '1h', 'times']).stdout).toBe('before\nafter\n');
    const bad = t.box(['logs', '--since', 'yesterday-ish', 'times']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/invalid value "yesterday-ish" for --since/);
    t.box(['rm', 'times']);
  });

  it('logs -f follows across rotations without losing a line and ends when the container is stopped', async () => {
    runDetached(
      t,
      '--name',
      'stream',
      '--log-opt',
      'max-size=1k',
      '--log-opt',
      'max-file=20',
      'busybox',
      'sh',
      '-c',
      'trap "exit 0" TERM; while [ ! -f /tmp/go ]; do sleep 0.05; done; ' +
        'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); usleep 2000; done; sleep 1000 & wait',
    );
    const follower = t.start(['logs', '-f', 'stream']);
    const ended = exitOf(follower);
    expect(t.box(['exec', 'stream', 'touch', '/tmp/go']).status).toBe(0);
    await waitForOutput(follower.stdout!, 'line-299\n');
    expect(t.box(['stop', 'stream']).status).toBe(0);
    const r = await ended;
    expect(r.code).toBe(0);
    expect(numbered(r.stdout)).toEqual(range(0, 299));
    t.box(['rm', 'stream']);
  });
});
