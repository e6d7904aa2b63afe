// Parts of an image's config that act after the start: its StopSignal is what `box stop` sends
// first (unless --stop-signal says otherwise), and its Labels show in `box image inspect`.
import { describe, expect, it } from 'vitest';
import { busyboxRoot, busyboxTarball } from '../support/box';

describe('image config', () => {
  const t = busyboxRoot();
  const waitForLog = (name: string, text: string) => {
    const end = Date.now() + 20_000;
    while (!t.box(['logs', name]).stdout.includes(text))
      if (Date.now() > end) throw new Error(`no "${text}" in the log of ${name}`);
  };
  const trapper =
    'trap "echo got-usr1; exit 0" USR1; trap "echo got-term; exit 0" TERM; echo up; while :; do sleep 0.05; done';

  it("box stop sends the image's StopSignal first; --stop-signal overrides it", () => {
    const imported = t.box([
      'import',
      busyboxTarball(t.dir),
      'stopper:1',
      '--change',
      'STOPSIGNAL SIGUSR1',
      '--change',
      'CMD ["sh"]',
    ]);
    expect(imported.status).toBe(0);
    expect(t.box(['run', '-d', '--name', 'img-sig', 'stopper:1', 'sh', '-c', trapper]).status).toBe(0);
    waitForLog('img-sig', 'up');
    expect(t.box(['stop', '-t', '5', 'img-sig']).status).toBe(0);
    expect(t.box(['logs', 'img-sig']).stdout).toBe('up\ngot-usr1\n');
    expect(
      t.box(['run', '-d', '--name', 'flag-sig', '--stop-signal', 'TERM', 'stopper:1', 'sh', '-c', trapper]).status,
    ).toBe(0);
    waitForLog('flag-sig', 'up');
    expect(t.box(['stop', '-t', '5', 'flag-sig']).status).toBe(0);
    expect(t.box(['logs', 'flag-sig']).stdout).toBe('up\ngot-term\n');
    expect(t.box(['rm', 'img-sig', 'flag-sig']).status).toBe(0);
  });

  it('a real-time StopSignal (as systemd images give) is sent by box stop; a StopSignal that is no signal refuses the start', () => {
    expect(t.box(['import', busyboxTarball(t.dir), 'rt-stopper:1', '--change', 'STOPSIGNAL SIGRTMIN+3']).status).toBe(
      0,
    );
    // SIGRTMIN+3 is 37 with glibc's numbering, which busybox's trap takes as a number
    const since = new Date(Date.now() - 1000).toISOString();
    expect(
      t.box([
        'run',
        '-d',
        '--name',
        'rt-sig',
        'rt-stopper:1',
        'sh',
        '-c',
        'trap "echo got-rt; exit 0" 37; echo up; while :; do sleep 0.05; done',
      ]).status,
    ).toBe(0);
    waitForLog('rt-sig', 'up');
    expect(t.box(['stop', '-t', '5', 'rt-sig']).status).toBe(0);
    expect(t.box(['logs', 'rt-sig']).stdout).toBe('up\ngot-rt\n');
    const kills = t
      .box([
        'events',
        '--since',
        since,
        '--until',
        new Date(Date.now() + 1).toISOString(),
        '--format',
        'json',
        '--filter',
        'container=rt-sig',
        '--filter',
        'event=kill',
      ])
      .stdout.trim()
      .split('\n');
    expect(
      kills.map((l) => (JSON.parse(l) as { Actor: { Attributes: { signal: string } } }).Actor.Attributes.signal),
    ).toEqual(['37']);
    expect(t.box(['rm', 'rt-sig']).status).toBe(0);

    expect(t.box(['import', busyboxTarball(t.dir), 'bad-stopper:1', '--change', 'STOPSIGNAL SIGNOPE']).status).toBe(0);
    const before = t.containerIds();
    const r = t.box(['run', '--rm', 'bad-stopper:1', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^box: invalid image's StopSignal "SIGNOPE": use a signal name/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.containerIds()).toEqual(before);
  });

  it('box image inspect shows the Labels of the image config', () => {
    const imported = t.box([
      'import',
      busyboxTarball(t.dir),
      'labelled:1',
      '--change',
      'LABEL team=images',
      '--change',
      'LABEL version="1.0" tier=base',
    ]);
    expect(imported.stderr).toBe('');
    const [info] = JSON.parse(t.box(['image', 'inspect', 'labelled:1']).stdout) as {
      Config: { Labels?: Record<string, string> };
    }[];
    expect(info.Config.Labels).toEqual({ team: 'images', version: '1.0', tier: 'base' });
  });
});
