// `box build`'s RUN options: --mount=type=cache (kept between builds, out of the image, counted by
// system df, removed by builder prune), type=bind (from the context or a stage, read-only unless
// rw, its content in the cache key), type=tmpfs, type=secret (readable in the step, never in a
// layer or the history); RUN --network and the build's --network; --progress; hostile mounts and
// secrets refused with the Dockerfile's line, leaving nothing behind.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot } from '../support/box';
import { boxBuild, writeContext } from '../support/build';

describe('box build: RUN --mount, --secret, --network, --progress', () => {
  const t = busyboxRoot();

  /** A context directory with these files (a Dockerfile among them). */
  const context = (name: string, files: Record<string, string>) => writeContext(t, name, files);
  const build = (args: string[], input?: string, env?: NodeJS.ProcessEnv) => boxBuild(t, args, input, env);
  const run = (...args: string[]) => {
    const r = t.box(['run', '--rm', ...args]);
    expect(r.stderr).toBe('');
    return r.stdout;
  };
  /** Every file of `box save IMAGE`, its layers unpacked: what anyone given the image could read. */
  const savedFiles = (image: string): { names: string[]; text: string } => {
    const dir = fs.mkdtempSync(path.join(t.dir, 'saved-'));
    try {
      expect(t.box(['save', '-o', path.join(dir, 'image.tar'), image]).status).toBe(0);
      spawnSync('tar', ['-xf', 'image.tar'], { cwd: dir });
      const names: string[] = [];
      let text = '';
      const walk = (d: string) => {
        for (const n of fs.readdirSync(d)) {
          const p = path.join(d, n);
          const st = fs.lstatSync(p);
          if (st.isDirectory()) walk(p);
          else if (st.isFile() && n !== 'image.tar') {
            // a layer (tar reads it whatever its compression): its names and its files' content
            const list = spawnSync('tar', ['-tf', p], { encoding: 'utf8' });
            if (list.status === 0) {
              names.push(...list.stdout.split('\n').filter(Boolean));
              text += spawnSync('tar', ['-xOf', p], { encoding: 'latin1' }).stdout;
            } else text += fs.readFileSync(p, 'latin1'); // configs, manifests, index
          }
        }
      };
      walk(dir);
      return { names, text };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  /** This process's start time (field 22 of /proc/self/stat), as box's owner tokens hold it. */
  const selfStart = () => {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  };
  const tmpEntries = () => {
    try {
      return fs.readdirSync(path.join(t.root, 'tmp'));
    } catch {
      return [];
    }
  };

  it('a cache mount keeps its content between builds, stays out of the image, is counted by df and pruned', () => {
    const dockerfile = [
      'FROM busybox',
      'RUN --mount=type=cache,target=/var/cache/app,uid=1000,mode=0750 echo run >> /var/cache/app/log && ' +
        'stat -c "%u %a" /var/cache/app && wc -l < /var/cache/app/log',
      '',
    ].join('\n');
    const first = build(['--progress', 'plain', '-t', 'cache:1', '-'], dockerfile);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/^#2 [\d.]+ 1000 750\n#2 [\d.]+ 1\n/m);
    const second = build(['--progress', 'plain', '--no-cache', '-t', 'cache:2', '-'], dockerfile);
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(/^#2 [\d.]+ 2$/m); // the first build's line is still there
    // the image has neither the cache's content nor its mount point
    expect(run('cache:2', 'sh', '-c', 'ls /var/cache 2>&1; echo end')).toBe(
      'ls: /var/cache: No such file or directory\nend\n',
    );
    expect(savedFiles('cache:2').names.filter((n) => n.includes('cache'))).toEqual([]);
    const df = t.box(['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Size}}']).stdout;
    expect(df).toMatch(/^Build Cache [1-9]\d* [1-9]/m);
    const pruned = t.box(['builder', 'prune', '-f']);
    expect(pruned.status).toBe(0);
    expect(pruned.stdout).toMatch(/^cache mount [0-9a-f]{64}$/m);
    const third = build(['--progress', 'plain', '-q', '-'], dockerfile);
    expect(third.status).toBe(0);
    const after = build(['--progress', 'plain', '--no-cache', '-'], dockerfile);
    expect(after.stderr).toMatch(/^#2 [\d.]+ 2$/m); // the pruned cache started empty again
    expect(tmpEntries()).toEqual([]);
  });

  it('a bind mount from the context is read-only, rw writes are dropped, and its content is in the cache key', () => {
    const dir = context('bind', {
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /work',
        'RUN --mount=type=bind,source=src,target=in cat in/a.txt > /copied && ! touch in/new 2>/dev/null',
        'RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/src/a.txt && cat /ctx/src/a.txt',
        'RUN --mount=type=bind,source=src/a.txt,target=/one.txt cat /one.txt > /one',
        '',
      ].join('\n'),
      'src/a.txt': 'v1\n',
    });
    const first = build(['--progress', 'plain', '-t', 'bind:1', dir]);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/^#4 [\d.]+ scribble$/m);
    expect(fs.readFileSync(path.join(dir, 'src/a.txt'), 'utf8')).toBe('v1\n'); // the context is untouched
    expect(run('bind:1', 'cat', '/copied', '/one')).toBe('v1\nv1\n'); // a file alone is mounted as a file
    expect(run('bind:1', 'sh', '-c', 'ls /one.txt 2>&1 || true')).toBe('ls: /one.txt: No such file or directory\n');
    expect(run('bind:1', 'sh', '-c', 'ls -A /work; ls /ctx 2>&1 || true')).toBe(
      'ls: /ctx: No such file or directory\n',
    );
    const again = build(['--progress', 'plain', dir]);
    expect(again.stderr).toMatch(/^#3 CACHED$/m);
    fs.writeFileSync(path.join(dir, 'src/a.txt'), 'v2\n');
    const changed = build(['--progress', 'plain', '-t', 'bind:2', dir]);
    expect(changed.status).toBe(0);
    expect(changed.stderr).toMatch(/^#3 DONE/m); // the mounted file changed: the step runs again
    expect(run('bind:2', 'cat', '/copied')).toBe('v2\n');
    expect(tmpEntries()).toEqual([]);
  });

  it('a bind mount from another stage (from=STAGE,source= through its own symlink), and a tmpfs mount', () => {
    const dockerfile = [
      'FROM busybox AS tools',
      'RUN mkdir -p /out && echo "made in tools" > /out/made && ln -s /out /linked',
      'FROM busybox',
      // a stage's own absolute symlink resolves in the stage's root, as in a container
      'RUN --mount=type=bind,from=tools,source=/linked,target=/tools cat /tools/made > /made',
      'RUN --mount=type=tmpfs,target=/scratch,size=2m grep " /scratch " /proc/mounts > /mounts && ' +
        'echo x > /scratch/junk',
      '',
    ].join('\n');
    const r = build(['-q', '-t', 'stagebind:1', '-'], dockerfile);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(run('stagebind:1', 'cat', '/made')).toBe('made in tools\n');
    const mounts = run('stagebind:1', 'sh', '-c', 'cat /mounts; ls -A /scratch 2>&1 || true');
    expect(mounts).toMatch(/^tmpfs \/scratch tmpfs rw,.*size=2048k/);
    expect(mounts).toContain('ls: /scratch: No such file or directory');
  });

  it('a secret is readable in its RUN (from a file or the environment) and in no layer, history or cache record', () => {
    const secretFile = path.join(t.dir, 'token.txt');
    fs.writeFileSync(secretFile, 'file-secret-4711\n');
    const dockerfile = [
      'FROM busybox',
      'RUN --mount=type=secret,id=token cat /run/secrets/token > /seen && stat -c "%a %u" /run/secrets/token >> /seen',
      'RUN --mount=type=secret,id=api,target=/etc/api.key,mode=0440,gid=5 cat /etc/api.key >> /seen',
      'RUN --mount=type=secret,id=absent ls /run/secrets/absent >> /seen 2>&1 || true',
      '',
    ].join('\n');
    // a secret's file left by a build that was killed goes with the next build; a live writer's stays
    const dead = path.join(t.root, 'tmp', '.tmp-secret-99999999.1-0123456789ab');
    const live = path.join(t.root, 'tmp', `.tmp-secret-${process.pid}.${selfStart()}-0123456789ab`);
    for (const d of [dead, live]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'secret'), 'left behind');
    }
    const env = { ...process.env, API_KEY: 'env-secret-0815' };
    const r = build(
      ['-q', '-t', 'secret:1', '--secret', `id=token,src=${secretFile}`, '--secret', 'id=api,env=API_KEY', '-'],
      dockerfile,
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect([fs.existsSync(dead), fs.existsSync(live)]).toEqual([false, true]);
    fs.rmSync(live, { recursive: true });
    // the steps read them (a copy the step itself made is the Dockerfile's doing)...
    expect(run('secret:1', 'cat', '/seen')).toBe(
      'file-secret-4711\n400 0\nenv-secret-0815ls: /run/secrets/absent: No such file or directory\n',
    );
    expect(savedFiles('secret:1').text).toContain('file-secret-4711'); // what savedFiles reads would show it
    // ...and rebuilt without copying them, they are nowhere in the image
    const clean = build(
      ['-q', '-t', 'secret:2', '--secret', `id=token,src=${secretFile}`, '-'],
      'FROM busybox\nRUN --mount=type=secret,id=token,required=true wc -c /run/secrets/token\n',
    );
    expect(clean.status).toBe(0);
    const saved = savedFiles('secret:2');
    expect(saved.text).not.toContain('file-secret-4711');
    expect(saved.names.filter((n) => n.includes('secrets') || n.includes('token'))).toEqual([]);
    expect(t.box(['history', '--no-trunc', 'secret:2']).stdout).not.toContain('file-secret');
    const records = fs.readdirSync(path.join(t.root, 'build-cache')).filter((n) => n.endsWith('.json'));
    for (const n of records)
      expect(fs.readFileSync(path.join(t.root, 'build-cache', n), 'utf8')).not.toMatch(/secret-4711|secret-0815/);
    expect(tmpEntries()).toEqual([]);
    // a required secret that is not given fails its step, naming the line and the flag to pass
    const missing = build(['-q', '-'], 'FROM busybox\nRUN --mount=type=secret,id=nope,required true\n');
    expect(missing.status).toBe(125);
    expect(missing.stderr).toBe(
      'box: Dockerfile (stdin):2: RUN --mount=type=secret,id=nope: no such secret: pass --secret id=nope,src=FILE\n',
    );
  });

  it("the policies judge a step with its mounts: box's own sources are shown as build volumes, not host binds", () => {
    const secretFile = path.join(t.dir, 'policy-secret.txt');
    fs.writeFileSync(secretFile, 'x\n');
    const dir = context('policed', {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=cache,target=/c --mount=type=bind,target=/ctx --mount=type=secret,id=s ' +
          '--mount=type=tmpfs,target=/t cat /ctx/f /run/secrets/s > /out',
        '',
      ].join('\n'),
      f: 'from the context\n',
    });
    // baseline refuses binds of box's storage: these are not binds of the host
    const env = { ...process.env, BOX_POLICY: 'baseline' };
    const r = build(['-q', '-t', 'policed:1', '--secret', `id=s,src=${secretFile}`, dir], undefined, env);
    expect(r.stderr).toMatch(/^(box: policy baseline: no (memory|pids) limit given: set to .*\n)+$/); // no denial
    expect(r.status).toBe(0);
    expect(run('policed:1', 'cat', '/out')).toBe('from the context\nx\n');
  });

  it('RUN --network=none has only lo; steps are on the default bridge unless --network says otherwise; no --security=insecure', () => {
    const dockerfile = [
      'FROM busybox',
      'RUN --network=none ls /sys/class/net > /none',
      'RUN ls /sys/class/net > /default',
      '',
    ].join('\n');
    const r = build(['-q', '--no-cache', '-t', 'net:1', '-'], dockerfile);
    expect(r.stderr).toBe('');
    expect(run('net:1', 'cat', '/none', '/default')).toBe('lo\neth0\nlo\n');
    const none = build(['-q', '--no-cache', '--network', 'none', '-t', 'net:2', '-'], dockerfile);
    expect(none.status).toBe(0);
    expect(run('net:2', 'cat', '/default')).toBe('lo\n');
    const bad = build(['-q', '-'], 'FROM busybox\nRUN --network=bridge true\n');
    expect(bad.status).toBe(125);
    expect(bad.stderr).toBe(
      "box: Dockerfile (stdin):2: RUN --network=bridge: use none, host or default (the build's --network)\n",
    );
    const insecure = build(['-q', '-'], 'FROM busybox\nRUN --security=insecure true\n');
    expect(insecure.status).toBe(125);
    expect(insecure.stderr).toBe(
      'box: Dockerfile (stdin):2: RUN --security=insecure: box build runs every step sandboxed: drop the flag\n',
    );
  });

  it('--progress plain: #N [stage k/n] lines, the output prefixed, DONE or CACHED; quiet prints only the id', () => {
    const dockerfile = 'FROM busybox AS base\nRUN echo one && echo two\nFROM base\nENV X=1\n';
    const plain = build(['--progress', 'plain', '--no-cache', '-'], dockerfile);
    expect(plain.status).toBe(0);
    expect(plain.stderr.replace(/ \d+\.\d+/g, ' T')).toBe(
      [
        '#1 [base 1/2] FROM busybox AS base',
        '#1 DONE Ts',
        '#2 [base 2/2] RUN echo one && echo two',
        '#2 T one',
        '#2 T two',
        '#2 DONE Ts',
        '#3 [stage-1 1/2] FROM base',
        '#3 DONE Ts',
        '#4 [stage-1 2/2] ENV X=1',
        '#4 DONE Ts',
        '',
      ].join('\n'),
    );
    const cached = build(['--progress', 'plain', '-'], dockerfile);
    expect(cached.stderr).toMatch(/^#2 CACHED$/m);
    const quiet = build(['--progress', 'quiet', '-'], dockerfile);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const tty = build(['--progress', 'tty', '--no-cache', '-'], dockerfile);
    expect(tty.stderr).toContain(' => [base 2/2] RUN echo one && echo two  ');
    expect(tty.stderr).not.toContain('\ntwo\n'); // a step's output shows only when it fails
    const bad = build(['--progress', 'fancy', '-'], dockerfile);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toBe('box: invalid --progress "fancy": use auto, plain, tty or quiet\n');
  });

  it('a cache seeded from a stage (from=,source=); sharing=locked steps of parallel stages take turns', () => {
    // each locked step holds the cache for a while; two holding it at once would fail the mkdir
    const hold =
      'RUN --mount=type=cache,id=turns,target=/c,sharing=locked set -e; mkdir /c/held; ' +
      'i=0; while [ $i -lt 10 ]; do i=$((i+1)); usleep 50000; done; rmdir /c/held; echo $0 > /done';
    const dockerfile = [
      'FROM busybox AS seed',
      'RUN mkdir /seed && echo seeded > /seed/file',
      'FROM busybox AS a',
      hold,
      'FROM busybox AS b',
      hold,
      'FROM busybox',
      'COPY --from=a /done /a',
      'COPY --from=b /done /b',
      'RUN --mount=type=cache,id=seeded,target=/s,from=seed,source=/seed cat /s/file > /seen && echo more >> /s/file',
      'RUN --mount=type=cache,id=seeded,target=/s cat /s/file >> /seen',
      '',
    ].join('\n');
    const r = build(['-q', '-t', 'turns:1', '-'], dockerfile);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(run('turns:1', 'cat', '/seen')).toBe('seeded\nseeded\nmore\n');
  });

  it('sharing=private: a step gets a cache of its own while another holds the shared one', () => {
    // The holder (sharing=locked) writes a mark, then waits for the other stage: that stage's first
    // step connects once the holder runs (holding the cache), its second (sharing=private) reports
    // what it sees. Host network: the steps meet on the loopback; timeout bounds every wait.
    const [ready, report] = [0, 1].map((i) => 30000 + i * 10000 + Math.floor(Math.random() * 10000));
    const cache = 'RUN --mount=type=cache,id=priv,target=/c';
    const dockerfile = [
      'FROM busybox AS holder',
      `${cache},sharing=locked echo held > /c/mark; timeout 30 nc -l -p ${ready} -e true; ` +
        `timeout 30 nc -l -p ${report} -e sh -c 'read line; echo "$line" > /got'; test -s /got`,
      'FROM busybox AS other',
      `RUN timeout 30 sh -c 'until nc 127.0.0.1 ${ready} </dev/null; do sleep 0.1; done'`,
      `${cache},sharing=private timeout 30 sh -c ` +
        `'until echo "saw:$(ls -A /c)" | nc 127.0.0.1 ${report}; do sleep 0.1; done'`,
      'FROM busybox',
      'COPY --from=holder /got /got',
      'COPY --from=other /etc/passwd /other-passwd',
      `${cache},sharing=private cat /c/mark >> /got`,
      '',
    ].join('\n');
    const r = build(['-q', '--network', 'host', '-t', 'private:1', '-'], dockerfile);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // a cache of its own (empty) while held; the shared one (with the mark) once free
    expect(run('private:1', 'cat', '/got')).toBe('saw:\nheld\n');
  });

  it('steps that change nothing give the same empty layer twice; later steps and the image still run', () => {
    // overlayfs refuses a lower dir given twice (ELOOP): the store gives a repeated layer once
    const r = build(['-q', '-t', 'empty:1', '-'], 'FROM busybox\nRUN true\nRUN true\nRUN echo ok > /ok\n');
    expect(r.stderr).toBe('');
    const layers = JSON.parse(t.box(['image', 'inspect', 'empty:1']).stdout)[0].RootFS.Layers as string[];
    expect(layers[1]).toBe(layers[2]);
    expect(run('empty:1', 'cat', '/ok')).toBe('ok\n');
  });

  it('hostile mounts and secrets are refused with the Dockerfile line and leave nothing behind', () => {
    const outside = path.join(t.dir, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'host.txt'), 'host file\n');
    const dir = context('hostile', { Dockerfile: 'FROM busybox\n', 'ok/a.txt': 'a\n' });
    fs.symlinkSync(outside, path.join(dir, 'abs-link'));
    fs.symlinkSync('../outside', path.join(dir, 'rel-link'));
    fs.symlinkSync(path.join(outside, 'host.txt'), path.join(t.dir, 'secret-link'));
    const secretDir = path.join(t.dir, 'secret-dir');
    fs.mkdirSync(secretDir, { recursive: true });
    const cases: [string, string[], string][] = [
      [
        'RUN --mount=type=bind,source=../outside,target=/x true',
        [],
        'RUN --mount=type=bind,source=../outside,target=/x: source ../outside: ' +
          'it climbs out of its root with ..: give a path inside it',
      ],
      [
        'RUN --mount=type=bind,source=abs-link/host.txt,target=/x true',
        [],
        `source /abs-link/host.txt: /abs-link is a symbolic link to ${outside}, ` +
          'which leads out of the build context: give a path inside it',
      ],
      [
        'RUN --mount=type=bind,source=rel-link,target=/x true',
        [],
        'source /rel-link: /rel-link is a symbolic link to ../outside, ' +
          'which leads out of the build context: give a path inside it',
      ],
      [
        'RUN --mount=type=cache,target=../../../../tmp/escape true',
        [],
        'RUN --mount=type=cache,target=../../../../tmp/escape: target ../../../../tmp/escape: ' +
          "it climbs out of the image's root file system with ..: give a path inside it",
      ],
      [
        'RUN --mount=type=secret,id=s cat /run/secrets/s',
        ['--secret', `id=s,src=${path.join(t.dir, 'secret-link')}`],
        `--secret id=s,src=${path.join(t.dir, 'secret-link')}: it is a symbolic link: give the file it points to`,
      ],
      [
        'RUN --mount=type=secret,id=s cat /run/secrets/s',
        ['--secret', `id=s,src=${secretDir}`],
        `--secret id=s,src=${secretDir}: it is a directory: give a file`,
      ],
    ];
    const images = t.box(['images', '-q']).stdout;
    for (const [line, flags, error] of cases) {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox\n${line}\n`);
      const r = build(['-q', ...flags, dir]);
      expect(r.stderr).toBe(`box: ${dir}/Dockerfile:2: ${error}\n`);
      expect(r.status).toBe(125);
      expect(tmpEntries()).toEqual([]);
    }
    expect(t.box(['images', '-q']).stdout).toBe(images);
    expect(fs.readdirSync(outside)).toEqual(['host.txt']);
  });
});
