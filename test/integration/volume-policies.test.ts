// Policies judge a container's mounts end to end (issue 11): the request carries them (bind
// sources as box resolved them on the host), baseline's bind denials refuse the start before
// anything is created, strict's read-only-mounts patch is applied, and its bind-sources argument
// limits where binds may come from.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, storeSnapshot } from '../support/box';

const t = busyboxRoot();
const STRICT = ['--policy', 'strict', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', '-u', '1000'];

describe('policies and mounts', () => {
  it('baseline refuses binds of sensitive host paths, also reached through a symlink, creating nothing', () => {
    const link = path.join(t.dir, 'innocent');
    fs.symlinkSync('/etc', link);
    // The predefined networks (bridge, host, none) are made on a root's first use: made first here,
    // so that what a refused start leaves is compared with a root that already has them.
    expect(t.box(['network', 'ls']).status).toBe(0);
    const before = storeSnapshot(t.root);
    for (const [source, why] of [
      ['/', "the host's root"],
      ['/etc', 'a sensitive host path'],
      [link, 'a sensitive host path'],
      ['/run/docker.sock', 'it exposes /run/docker.sock'],
      ['/run', 'it exposes /run/docker.sock'],
    ]) {
      const r = t.box([
        'run',
        '--rm',
        '--policy',
        'baseline',
        '-v',
        `${source}:/x`,
        '-v',
        'notmade:/y',
        'busybox',
        'true',
      ]);
      expect(r.status, source).toBe(125);
      expect(r.stderr).toContain(`bind mount of ${source === link ? '/etc' : source} is not allowed (${why})`);
    }
    const after = storeSnapshot(t.root).filter(
      (l) => !l.startsWith('run') && !l.startsWith('policy-audit') && !l.startsWith('cache'),
    );
    expect(after).toEqual(
      before.filter((l) => !l.startsWith('run') && !l.startsWith('policy-audit') && !l.startsWith('cache')),
    );
    expect(fs.existsSync(path.join(t.root, 'volumes', 'notmade'))).toBe(false);
  });

  it('strict makes writable binds read-only and limits their sources to bind-sources', () => {
    const allowed = fs.mkdtempSync(path.join(t.dir, 'allowed-'));
    fs.chmodSync(allowed, 0o777); // user 1000 could write there, but for the patch
    const other = fs.mkdtempSync(path.join(t.dir, 'other-'));
    const args = ['--policy-arg', `bind-sources=${allowed}`];
    const r = t.box(['run', '--rm', ...STRICT, ...args, '-v', `${allowed}:/a`, 'busybox', 'sh', '-c', 'touch /a/x']);
    expect(r.stderr).toContain('bind mount /a made read-only');
    expect(r.stderr).toContain('touch: /a/x: Read-only file system');
    expect(fs.readdirSync(allowed)).toEqual([]);
    const d = t.box(['run', '--rm', ...STRICT, ...args, '-v', `${other}:/o`, 'busybox', 'true']);
    expect(d.status).toBe(125);
    expect(d.stderr).toContain(`bind mount of ${other} is not allowed (allowed sources: ${allowed})`);
  });

  it('judges a volume that binds a host directory as that bind', () => {
    const made = t.box(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', 'device=/etc', 'etcvol']);
    expect(made.status).toBe(0);
    const r = t.box(['run', '--rm', '--policy', 'baseline', '-v', 'etcvol:/x', 'busybox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('bind mount of /etc is not allowed (a sensitive host path)');
    expect(t.box(['volume', 'rm', 'etcvol']).status).toBe(0);
  });
});
