// box-runc's native half (native/oci-*.c) against box's Node.js side (`box oci`): for the commands
// the helper answers itself (start, state, kill, delete, ps, list) the same output byte for byte,
// the same errors in the same log, and no Node.js start (the `box` beside this box-runc is a
// wrapper that notes every command handed to it). And what a hostile state directory cannot do:
// ids that climb out of the root, symlinked container directories and state files, a root others
// can write.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOX, busyboxTarball, installBoxRunc, REPO, TestRoot, until } from '../support/box';

const t = new TestRoot('box-ocin-');
let bundle: string;
let stateRoot: string;
let runc: string;
let handed: string; // the commands box-runc handed to box, one a line

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  log: string;
}

/** box-runc (native: false runs `box oci`, the Node.js side) with stdout and stderr in files. */
function run(native: boolean, ...args: string[]): Ran {
  const log = path.join(t.dir, 'log');
  fs.rmSync(log, { force: true });
  return runLogged(native, log, args);
}

/**
 * As run, with --log `log` left as it is, and `before` (a shell command) run first by the shell
 * that then execs box-runc or box as the same process ($$ is its pid).
 */
function runLogged(native: boolean, log: string, args: string[], before = ''): Ran {
  const files = ['stdout', 'stderr'].map((n) => path.join(t.dir, n));
  for (const f of files) fs.rmSync(f, { force: true });
  const fds = files.map((f) => fs.openSync(f, 'w'));
  const global = ['--root', stateRoot, '--log', log, '--log-format', 'json'];
  const argv = native ? [runc, ...global, ...args] : [BOX, 'oci', ...global, ...args];
  const r = spawnSync('/bin/sh', ['-c', `${before}\nexec "$@"`, 'sh', ...argv], {
    stdio: ['ignore', fds[0], fds[1]],
    timeout: 60_000,
    env: { ...process.env, BOX_ROOT: t.root },
  });
  for (const fd of fds) fs.closeSync(fd);
  const [stdout, stderr] = files.map((f) => fs.readFileSync(f, 'utf8'));
  // the log's time differs between two runs; the rest must not (a symlink there is not read)
  const text = fs.lstatSync(log, { throwIfNoEntry: false })?.isFile() ? fs.readFileSync(log, 'utf8') : '';
  return { status: r.status, stdout, stderr, log: text.replace(/"time":"[^"]+"/g, '"time":"T"') };
}

const native = (...args: string[]) => run(true, ...args);
const viaNode = (...args: string[]) => run(false, ...args);

function ok(...args: string[]): string {
  const r = native(...args);
  if (r.status !== 0) throw new Error(`box-runc ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** What box-runc handed to box since the last call. */
function handedOver(): string[] {
  const lines = fs.existsSync(handed) ? fs.readFileSync(handed, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(handed, { force: true });
  // the global flags are always `--root R --log L --log-format json`: the command comes next
  return lines.map((l) => l.split(' ')[6]);
}

function config(args: string[], annotations: Record<string, string> = {}) {
  const c = {
    ociVersion: '1.2.0',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
    root: { path: 'rootfs' },
    annotations,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
    ],
    linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
  };
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(c));
}

const status = (id: string) => JSON.parse(ok('state', id)).status as string;

/** Both sides give the same answer to `args`; returns it. */
function same(...args: string[]): Ran {
  const a = native(...args);
  const b = viaNode(...args);
  expect(a).toEqual(b);
  return a;
}

beforeAll(() => {
  bundle = path.join(t.dir, 'bundle');
  stateRoot = path.join(t.dir, 'state');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  expect(spawnSync('tar', ['-xf', busyboxTarball(t.dir), '-C', path.join(bundle, 'rootfs')]).status).toBe(0);
  // box-runc as installed, but its `box` a wrapper that notes what it is handed
  const dir = path.join(t.dir, 'bin');
  installBoxRunc(dir);
  runc = path.join(dir, 'box-runc');
  handed = path.join(t.dir, 'handed');
  fs.rmSync(path.join(dir, 'box'));
  fs.writeFileSync(path.join(dir, 'box'), `#!/bin/bash\necho "$*" >> ${handed}\nexec -a box-runc ${BOX} "$@"\n`, {
    mode: 0o755,
  });
});

afterAll(() => {
  for (const id of fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot) : []) viaNode('delete', '--force', id);
  t.cleanup();
});

describe("box-runc's native half", () => {
  it('is installed by box system install-runtime: the helper itself, beside a box that is this one', () => {
    // the helper the executable embeds is the one the build made
    expect(fs.readFileSync(runc).equals(fs.readFileSync(path.join(REPO, 'dist', 'assets', 'box-helper')))).toBe(true);
    expect(fs.statSync(runc).mode & 0o777).toBe(0o755);
    // a directory whose `box` is another program (here the wrapper) is refused: box-runc would run it
    const r = spawnSync(BOX, ['system', 'install-runtime', '--dir', path.dirname(runc)], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([
      125,
      `box: ${path.dirname(runc)}/box exists and is not this box: box-runc runs the box beside it; choose another --dir\n`,
    ]);
  });

  it('answers state, ps and list as the Node.js side does, byte for byte, in every status', () => {
    // annotations JSON must escape, with an integer-like key (JSON.stringify puts those first)
    config(['sh', '-c', 'sleep 300 & wait'], { 'io.x/name': 'a "q" \\ é\n\t\u0001', '10': 'ten', '': '' });
    ok('create', '--bundle', bundle, 'n1');
    expect(handedOver()).toEqual(['create']);
    expect(same('state', 'n1').stdout).toContain('"status": "created"');
    for (const f of [[], ['--format', 'json'], ['-q']]) same('list', ...f);
    ok('start', 'n1');
    expect(status('n1')).toBe('running');
    same('state', 'n1');
    for (const f of [[], ['--format', 'json'], ['-q']]) same('list', ...f);
    expect(JSON.parse(same('ps', '--format', 'json', 'n1').stdout)).toHaveLength(2); // sh and sleep
    expect(same('ps', 'n1').stdout).toMatch(/^PID +CMD\n\d+ +sh -c sleep 300 & wait\n\d+ +sleep 300\n$/);
    expect(viaNode('pause', 'n1').status).toBe(0);
    expect(same('state', 'n1').stdout).toContain('"status": "paused"');
    expect(viaNode('resume', 'n1').status).toBe(0);
    ok('kill', 'n1', 'KILL');
    until(
      'the container stopped',
      () => status('n1'),
      (s) => s === 'stopped',
    );
    expect(same('state', 'n1').stdout).toContain('"pid": 0');
    same('list');
    ok('delete', 'n1');
    expect(fs.readdirSync(stateRoot)).toEqual([]);
    expect(handedOver()).toEqual([]); // nothing of this was box's
  });

  it('fails as the Node.js side fails: the same message, exit status and log line', () => {
    for (const args of [
      ['state', 'nosuch'],
      ['start', 'nosuch'],
      ['kill', 'nosuch'],
      ['delete', 'nosuch'],
      ['ps', 'nosuch'],
    ]) {
      const r = same(...args);
      expect(r.status).toBe(125);
      expect(r.stderr).toBe('container does not exist: nosuch\n');
    }
    expect(same('delete', '--force', 'nosuch').status).toBe(0);
    config(['sleep', '300']);
    ok('create', '--bundle', bundle, 'n2');
    ok('start', 'n2');
    expect(same('start', 'n2').stderr).toBe('cannot start an already running container\n');
    expect(same('delete', 'n2').stderr).toBe('cannot delete container n2 that is not stopped: running\n');
    ok('kill', 'n2', '9');
    until(
      'the container stopped',
      () => status('n2'),
      (s) => s === 'stopped',
    );
    expect(same('kill', 'n2').stderr).toBe('container not running\n');
    expect(same('start', 'n2').stderr).toBe('cannot start a container that has stopped\n');
    ok('delete', 'n2');
    config(['no-such-command']);
    ok('create', '--bundle', bundle, 'n3');
    const failed = native('start', 'n3');
    expect([failed.status, failed.stderr]).toEqual([125, 'no-such-command: executable file not found in $PATH\n']);
    expect(JSON.parse(failed.log)).toEqual({ level: 'error', msg: failed.stderr.trim(), time: 'T' });
    ok('delete', 'n3');
    expect(handedOver()).toEqual(['create', 'create']);
    // --debug: the command line once in the log, before the error, whichever side answers
    const argv = (...a: string[]) => `box-runc --root ${stateRoot} --log ${path.join(t.dir, 'log')} ${a.join(' ')}`;
    for (const args of [
      ['--log-format', 'json', '--debug', 'state', 'nosuch'],
      ['--log-format', 'json', '--debug', 'kill', 'nosuch', 'RTMIN+1'], // a signal name box reads
    ]) {
      const r = native('--debug', ...args.slice(3));
      const lines = r.log
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.level, l.msg])).toEqual([
        ['debug', argv(...args)],
        ['error', 'container does not exist: nosuch'],
      ]);
    }
    expect(handedOver()).toHaveLength(1);
  });

  it('kills a created container, and delete --force ends a running one with every process', () => {
    config(['sh', '-c', 'sleep 300 & sleep 300 & wait']);
    ok('create', '--bundle', bundle, 'n4');
    ok('kill', 'n4', 'TERM');
    expect(status('n4')).toBe('stopped');
    ok('delete', 'n4');
    ok('create', '--bundle', bundle, 'n5');
    ok('start', 'n5');
    const ps = () => JSON.parse(ok('ps', '--format', 'json', 'n5')) as number[];
    const pids = until('both sleeps run', ps, (p) => p.length === 3);
    ok('delete', '--force', 'n5');
    for (const pid of pids)
      expect(fs.existsSync(`/proc/${pid}/stat`) && !/\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(
        false,
      );
    expect(fs.readdirSync(stateRoot)).toEqual([]);
    expect(handedOver()).toEqual(['create', 'create']);
  });

  it('touches nothing outside its root: ids that climb out, symlinked directories and state files', () => {
    // a directory outside the root that looks like a container's, with a forged state file
    const outside = path.join(t.dir, 'victim');
    fs.mkdirSync(outside, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(outside, 'state'), `box-runc-state 1\nid "victim"\n`);
    fs.mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
    for (const id of ['../victim', 'a/../../victim', '..', '.', '']) {
      const r = native('delete', '--force', id);
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/^(invalid container id|container id cannot be empty)/);
    }
    expect(handedOver()).toHaveLength(5); // box's message for a bad id: one definition
    fs.symlinkSync(outside, path.join(stateRoot, 'linked'));
    fs.mkdirSync(path.join(stateRoot, 'statelink'), { mode: 0o700 });
    fs.symlinkSync(path.join(outside, 'state'), path.join(stateRoot, 'statelink', 'state'));
    const linkRefusal = (p: string) =>
      `${p} is a symbolic link where box keeps its own file: box never follows links in its store; remove it\n`;
    // every command that reads a container, on both sides (those the native half hands to box too)
    const onContainer = (id: string) => [
      ['delete', '--force', id],
      ['delete', id],
      ['state', id],
      ['kill', id],
      ['kill', id, 'KILL'],
      ['start', id],
      ['ps', id],
      ['pause', id],
      ['resume', id],
      ['update', '--pids-limit', '10', id],
      ['exec', id, 'true'],
    ];
    fs.writeFileSync(path.join(stateRoot, 'plain'), '');
    for (const [id, refusal] of [
      ['linked', linkRefusal(`${stateRoot}/linked`)],
      ['statelink', linkRefusal(`${stateRoot}/statelink/state`)],
      ['plain', `${stateRoot}/plain is not a directory where box keeps a container's files: remove it\n`],
    ]) {
      for (const args of onContainer(id)) {
        const r = same(...args);
        expect([args, r.status, r.stderr]).toEqual([args, 125, refusal]);
        expect(JSON.parse(r.log)).toEqual({ level: 'error', msg: refusal.trim(), time: 'T' });
      }
    }
    expect(fs.readdirSync(outside)).toEqual(['state']);
    expect(fs.readFileSync(path.join(outside, 'state'), 'utf8')).toBe(`box-runc-state 1\nid "victim"\n`);
    // list leaves both out, silently, as it does a container it cannot read
    const listed = same('list', '-q');
    expect([listed.status, listed.stdout, listed.stderr]).toEqual([0, '', '']);
    // handed to box: pause, resume, update and exec (once for each id)
    expect(handedOver().sort()).toEqual(['exec', 'pause', 'resume', 'update'].flatMap((c) => [c, c, c]));
    fs.rmSync(path.join(stateRoot, 'plain'));
    fs.rmSync(path.join(stateRoot, 'linked'));
    fs.rmSync(path.join(stateRoot, 'statelink'), { recursive: true });
  });

  it('trusts its root as box trusts its own, on both sides: owner, mode and the directories above', () => {
    config(['true']);
    fs.mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
    // what every command but features refuses, on a root it must not trust
    const everyCommand = [
      ['create', '--bundle', bundle, 'h1'],
      ['run', '--detach', '--bundle', bundle, 'h1'],
      ['start', 'h1'],
      ['state', 'h1'],
      ['kill', 'h1'],
      ['delete', '--force', 'h1'],
      ['ps', 'h1'],
      ['list'],
      ['pause', 'h1'],
      ['resume', 'h1'],
      ['update', '--pids-limit', '10', 'h1'],
      ['exec', 'h1', 'true'],
    ];
    const refusedEverywhere = (why: string) => {
      for (const args of everyCommand) {
        const r = same(...args);
        expect([args, r.status, r.stdout, r.stderr]).toEqual([args, 125, '', `${why}\n`]);
        expect(JSON.parse(r.log)).toEqual({ level: 'error', msg: why, time: 'T' });
      }
      expect(viaNode('features').status).toBe(0); // reads nothing under --root
      expect(fs.readdirSync(stateRoot)).toEqual([]); // nothing created
      handedOver();
    };
    fs.chmodSync(stateRoot, 0o757);
    refusedEverywhere(
      `the OCI root ${stateRoot} has mode 0757, writable by group or others: chmod 700 it or choose another --root`,
    );
    fs.chmodSync(stateRoot, 0o700);
    fs.chownSync(stateRoot, 1000, 1000);
    refusedEverywhere(
      `the OCI root ${stateRoot} is owned by uid 1000, not root: box trusts only a root-owned store; ` +
        'chown it to root or choose another --root',
    );
    fs.chownSync(stateRoot, 0, 0);
    // readable by others, writable by none: tightened to 0700 (as box's storage root), then used
    for (const side of [native, viaNode]) {
      fs.chmodSync(stateRoot, 0o755);
      const r = side('state', 'h1');
      expect([r.status, r.stderr]).toEqual([125, 'container does not exist: h1\n']);
      expect(fs.statSync(stateRoot).mode & 0o777).toBe(0o700);
    }
    // a root (existing or not) in a directory others can write: they could swap it
    const loose = path.join(t.dir, 'loose');
    fs.mkdirSync(loose, { mode: 0o777 });
    fs.chmodSync(loose, 0o777);
    const saved = stateRoot;
    try {
      for (const made of [false, true]) {
        stateRoot = path.join(loose, 'state');
        if (made) fs.mkdirSync(stateRoot, { mode: 0o700 });
        const why =
          `the OCI root ${stateRoot} is inside ${loose}, mode 0777, writable by group or others, ` +
          'who could swap the store: choose another --root';
        for (const args of everyCommand) {
          const r = same(...args);
          expect([args, r.status, r.stderr]).toEqual([args, 125, `${why}\n`]);
        }
        expect(fs.readdirSync(loose)).toEqual(made ? ['state'] : []); // create made no root there
        if (made) expect(fs.readdirSync(stateRoot)).toEqual([]);
      }
      // a root given through a symlink: the directories above where it resolves count too
      stateRoot = path.join(t.dir, 'rootlink');
      fs.symlinkSync(path.join(loose, 'state'), stateRoot);
      const why =
        `the OCI root ${stateRoot} is inside ${loose}, mode 0777, writable by group or others, ` +
        'who could swap the store: choose another --root';
      for (const args of everyCommand) {
        const r = same(...args);
        expect([args, r.status, r.stderr]).toEqual([args, 125, `${why}\n`]);
      }
      expect(fs.readdirSync(path.join(loose, 'state'))).toEqual([]);
    } finally {
      stateRoot = saved;
      handedOver();
    }
  });
  it('refuses a --log that is a symlink, on either side, writing nothing through it', () => {
    fs.mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
    const victim = path.join(t.dir, 'victim-file');
    fs.writeFileSync(victim, 'precious\n');
    const linkedLog = path.join(t.dir, 'linked.log');
    const dangling = path.join(t.dir, 'victim-new');
    config(['sleep', '300']);
    for (const target of [victim, dangling]) {
      fs.rmSync(linkedLog, { force: true });
      fs.symlinkSync(target, linkedLog);
      const why = `--log ${linkedLog} is a symbolic link: box-runc never writes its log through one; give the file itself`;
      for (const args of [['state', 'nosuch'], ['list'], ['create', '--bundle', bundle, 'l1'], ['features']]) {
        for (const side of [true, false]) {
          const r = runLogged(side, linkedLog, args);
          expect([args, side, r.status, r.stdout, r.stderr]).toEqual([args, side, 125, '', `${why}\n`]);
        }
      }
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(fs.existsSync(dangling)).toBe(false);
      expect(fs.readdirSync(stateRoot)).toEqual([]);
    }
    fs.rmSync(linkedLog);
    handedOver();
  });

  it('writes --pid-file whole, never through a symlink at its name or its temporary name', () => {
    const victim = path.join(t.dir, 'victim-file');
    fs.writeFileSync(victim, 'precious\n');
    config(['sleep', '300']);
    // the pid file: a link at its name is replaced, not followed; one planted at the temporary
    // file's name (.NAME.PID, PID box's own, which the shell that execs box knows) is not followed
    const pidFile = path.join(t.dir, 'p.pid');
    const plant = `ln -s ${victim} ${pidFile}; ln -s ${victim} ${path.join(t.dir, '.p.pid.')}$$`;
    const written = () => {
      expect(fs.lstatSync(pidFile).isFile()).toBe(true);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      fs.rmSync(pidFile);
      expect(fs.readdirSync(t.dir).filter((n) => n.startsWith('.p.pid'))).toEqual([]);
      return pid;
    };
    const log = path.join(t.dir, 'log');
    const created = runLogged(true, log, ['create', '--bundle', bundle, '--pid-file', pidFile, 'p1'], plant);
    expect([created.status, created.stderr]).toEqual([0, '']);
    expect(written()).toBe(JSON.parse(ok('state', 'p1')).pid);
    ok('start', 'p1');
    for (const side of [true, false]) {
      const args = ['exec', '--detach', '--pid-file', pidFile, 'p1', 'sleep', '300'];
      const r = runLogged(side, log, args, plant);
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(JSON.parse(ok('ps', '--format', 'json', 'p1'))).toContain(written());
    }
    ok('delete', '--force', 'p1');
    expect(handedOver()).toEqual(['create', 'exec']);
  });
});
