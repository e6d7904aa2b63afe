// The single executable made by `npm run build` (npm test builds before running vitest; this file
// builds nothing). It must be self-contained: copied alone into an empty directory, with an
// empty environment, and with the source tree and the system's node hidden, it still runs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SPEC_VERSION } from '../../src/runtime/spec';
import { importBusybox, TestRoot } from '../support/box';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const BOX = path.join(DIST, 'box');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const isRoot = process.getuid?.() === 0;

let tmp: string;
let copy: string;

beforeAll(() => {
  if (!fs.existsSync(BOX)) throw new Error(`${BOX} does not exist: run \`npm run build\` (npm test does)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-binary-'));
  fs.mkdirSync(path.join(tmp, 'empty'));
  copy = path.join(tmp, 'empty', 'box');
  fs.copyFileSync(BOX, copy);
  fs.chmodSync(copy, 0o755);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dist/box', () => {
  test('is one executable file', () => {
    const st = fs.lstatSync(BOX);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o111).not.toBe(0);
    const head = Buffer.alloc(4);
    const fd = fs.openSync(BOX, 'r');
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    expect(head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))).toBe(true); // ELF
  });

  test('copied alone into an empty directory, `env -i ./box version` works', () => {
    const r = spawnSync('/usr/bin/env', ['-i', './box', 'version'], { cwd: path.dirname(copy), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`box ${VERSION}\n`);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(path.dirname(copy))).toEqual(['box']); // and wrote nothing next to itself
  });

  test.skipIf(!isRoot)('runs with the source tree and the system node hidden', () => {
    // A private mount namespace (util-linux unshare) where the repository is an empty tmpfs and
    // the node executable is /dev/null.
    const hide = [`mount -t tmpfs -o size=1m box-hidden ${JSON.stringify(ROOT)}`];
    for (const node of [process.execPath, '/usr/bin/node', '/usr/local/bin/node']) {
      if (fs.existsSync(node) && !node.startsWith(ROOT)) hide.push(`mount --bind /dev/null ${JSON.stringify(node)}`);
    }
    const script = `set -e; ${hide.join('; ')}; test ! -e ${JSON.stringify(path.join(ROOT, 'package.json'))}; exec env -i ./box version`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      cwd: path.dirname(copy),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`box ${VERSION}\n`);
    expect(r.status).toBe(0);
  });

  test('embeds the assets that dist/assets holds', () => {
    // The SEA blob stores assets verbatim: find each one's bytes in the executable.
    const exe = fs.readFileSync(BOX);
    for (const name of ['box-helper', 'koffi.node']) {
      const asset = fs.readFileSync(path.join(DIST, 'assets', name));
      expect(asset.length).toBeGreaterThan(0);
      expect(exe.indexOf(asset), `${name} embedded in dist/box`).toBeGreaterThan(0);
    }
  });

  test('the bundle carries the assets digests used by the fast path', () => {
    const bundle = fs.readFileSync(path.join(DIST, 'box.js'), 'utf8');
    if (!bundle.includes('box was built without asset digests')) return; // src/assets.ts not used yet
    for (const name of ['box-helper', 'koffi.node']) {
      const digest = createHash('sha256')
        .update(fs.readFileSync(path.join(DIST, 'assets', name)))
        .digest('hex');
      expect(bundle, `digest of ${name} in dist/box.js`).toContain(digest);
    }
  });

  test('the helper asset is a static executable', () => {
    const r = spawnSync('file', ['-b', path.join(DIST, 'assets', 'box-helper')], { encoding: 'utf8' });
    if (r.error) return; // `file` is not installed: nothing to check it with
    expect(r.stdout).toMatch(/ELF 64-bit .*(statically linked|static-pie linked)/);
    expect(r.stdout).toMatch(/stripped/);
    expect(r.stdout).not.toMatch(/not stripped/);
  });

  // When the CLI gets its hidden `box info` (which loads koffi and the helper from the embedded
  // assets), check it here on the copied binary.
  test('copied alone, `box info` loads koffi and extracts the helper from the embedded assets', () => {
    const root = path.join(tmp, 'info-root');
    const r = spawnSync('/usr/bin/env', ['-i', './box', '--root', root, 'info', '--format', 'json'], {
      cwd: path.dirname(copy),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout) as {
      backingFilesystem: string;
      helper: string;
      cgroupVersion: number;
      node: string;
      helperProtocol: number;
    };
    expect(info.node).toBe(process.versions.node); // the local Node.js is what the executable embeds
    expect(info.helperProtocol).toBe(SPEC_VERSION);
    expect(info.backingFilesystem).toMatch(/^(ext4|xfs|btrfs|tmpfs|[a-z0-9]+|0x[0-9a-f]+)$/); // statfs(2) through koffi
    expect(fs.statSync(info.helper).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(info.helper).equals(fs.readFileSync(path.join(ROOT, 'dist', 'assets', 'box-helper')))).toBe(
      true,
    );
    expect([1, 2]).toContain(info.cgroupVersion);
  });
  test("BOX_TRACE=1 accounts for the whole start, from the exec (BOX_TRACE_T0) through Node's boot to the exit", () => {
    const root = path.join(tmp, 'trace-root');
    const spawnedAt = process.hrtime.bigint();
    const r = spawnSync(copy, ['--root', root, 'info', '--format', 'json'], {
      env: { BOX_TRACE: '1', BOX_TRACE_T0: String(spawnedAt) },
      encoding: 'utf8',
    });
    const wallMs = Number(process.hrtime.bigint() - spawnedAt) / 1e6;
    expect(r.status).toBe(0);
    const rows = [...r.stderr.matchAll(/^ +([\d.]+) ms +\+ *([\d.]+) +(.+?)(?: {2}\[cpu [\d.]+\])?$/gm)].map((m) => ({
      at: Number(m[1]),
      step: Number(m[2]),
      label: m[3],
    }));
    expect(rows.map((row) => row.label)).toEqual([
      'spawned by the caller (BOX_TRACE_T0)',
      'node: main() (dynamic loading before it)',
      'node: V8 started (OpenSSL, ICU, CA certificates before it)',
      'node: environment created',
      'node: bootstrap complete',
      // the executable's own steps (src/boot.ts) before the bundle's code runs
      'boot: started',
      'boot: bundle and code cache read',
      expect.stringMatching(/^boot: bundle compiled \(code cache (none|accepted|rejected)\)$/),
      'box: bundle loaded (main)',
      'command module loaded',
      'arguments parsed',
      'koffi loaded',
      'exit',
    ]);
    // times since the spawn, in order, each step the difference of two rows, the last one within the wall time
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].at).toBeGreaterThanOrEqual(rows[i - 1].at);
      // (to the microsecond: a step's wall time is compared with its CPU time, printed so)
      expect(Math.abs(rows[i].at - rows[i - 1].at - rows[i].step)).toBeLessThan(0.0021);
    }
    expect(rows[1].at).toBeGreaterThan(0); // the exec and the dynamic loader come before node's clock
    expect(rows.at(-1)!.at).toBeLessThan(wallMs);
    expect(r.stderr).toMatch(/cpu: user [\d.]+ ms, system [\d.]+ ms/);
    // box's own steps carry the process's CPU time so far, never decreasing
    const cpu = [...r.stderr.matchAll(/\[cpu ([\d.]+)\]$/gm)].map((m) => Number(m[1]));
    expect(cpu).toHaveLength(rows.length - 5);
    expect(cpu).toEqual([...cpu].sort((a, b) => a - b));
  });
  test("`box version` loads no more than the command line (not `box info`'s graph: networks, net)", () => {
    // stdout and stderr are files, so writing to them needs no socket: net came from info's modules
    const out = path.join(tmp, 'version.out');
    const err = path.join(tmp, 'version.err');
    const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
    try {
      const r = spawnSync(copy, ['version'], { env: { BOX_TRACE: '1' }, stdio: ['ignore', ...fds] });
      expect(r.status).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe(`box ${VERSION}\n`);
      const trace = fs.readFileSync(err, 'utf8');
      const loaded = /^ {2}node built-ins loaded by box: (.*)$/m.exec(trace)?.[1].split(' ');
      expect(loaded, trace).toBeDefined();
      expect(loaded).not.toContain('net');
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  });
  test.runIf(isRoot)(
    "a container's start loads none of Node's built-ins it does not use (BOX_TRACE=1 lists them)",
    () => {
      const t = new TestRoot('box-builtins-');
      try {
        importBusybox(t);
        // the first start in a root copies the helper out of the executable (and checks its digest)
        const run = () =>
          t.box(['run', '-d', '--network', 'none', 'busybox', 'sleep', '100'], {
            env: { ...process.env, BOX_TRACE: '1' },
          });
        expect(run().status).toBe(0);
        const r = run();
        expect(r.status).toBe(0);
        const loaded = /^ {2}node built-ins loaded by box: (.*)$/m.exec(r.stderr)?.[1].split(' ');
        expect(loaded).toBeDefined();
        // a detached start reads the helper's events once it exited, writes its id and warnings
        // through fs and checks no address without --dns or --add-host: net, tty and Node's
        // streams (~2 ms of CPU) stay unloaded, with stdout and stderr pipes (as here)
        for (const name of ['net', 'tty', 'stream', 'string_decoder']) expect(loaded).not.toContain(name);
        // the helper is spawned without child_process (posix_spawn), which also brought dgram in;
        // the back-off and the DNS responder load them only when they start one
        expect(loaded).not.toContain('child_process');
        expect(loaded).not.toContain('dgram');
        // node:crypto (~1.5 ms of CPU) came in through koffi's download tools, the MAC generator and
        // the build cache's hash, none of which a start uses
        expect(loaded).not.toContain('crypto');
        expect(loaded).not.toContain('zlib');
        expect(loaded).not.toContain('https');
        // a built-in policy loads nothing more: it is never hashed (node:crypto) and its module is
        // too small for the V8 flags of big ones (node:v8, ~1.2 ms of CPU)
        const policed = t.box(['run', '-d', '--network', 'none', '--policy', 'baseline', 'busybox', 'sleep', '100'], {
          env: { ...process.env, BOX_TRACE: '1' },
        });
        expect(policed.status).toBe(0);
        expect(/^ {2}node built-ins loaded by box: (.*)$/m.exec(policed.stderr)?.[1].split(' ')).toEqual(loaded);
        // its steps, each with its wall and CPU time
        const steps = [...policed.stderr.matchAll(/^ +[\d.]+ ms +\+ *[\d.]+ {2}(polic[^[]*?) {2}\[cpu/gm)];
        expect(steps.map((m) => m[1])).toEqual([
          'policy engine loaded',
          'policy compiled',
          'policy instantiated',
          'policies loaded',
          'policy evaluated',
          'policies decided',
        ]);
      } finally {
        t.cleanup();
      }
    },
  );
  describe.runIf(isRoot)('code cache of each command (src/boot.ts)', () => {
    const digest = () =>
      createHash('sha256')
        .update(fs.readFileSync(path.join(DIST, 'box.js')))
        .digest('hex')
        .slice(0, 16);
    const cacheOf = (command: string) => path.join('/run/box/cache', `code-${digest()}-${command}`);
    /** A code cache's first line: its magic and the optional features its code covers. */
    const headerOf = (file: string) => fs.readFileSync(file).subarray(0, 64).toString('latin1').split('\n')[0];
    const version = (env: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync(copy, ['--root', path.join(tmp, 'cache-root'), 'version'], { env, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`box ${VERSION}\n`);
    };

    test('the first run of a command writes its cache (root only, 0600); later runs read it and leave it', () => {
      version();
      const file = cacheOf('version');
      const st = fs.lstatSync(file);
      expect(st.isFile()).toBe(true);
      expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
      version();
      const again = fs.lstatSync(file);
      expect([again.ino, again.mtimeMs]).toEqual([st.ino, st.mtimeMs]);
    });

    test('a cache others may write is not read but replaced; a corrupt one is rejected by V8 and replaced', () => {
      version();
      const file = cacheOf('version');
      fs.chmodSync(file, 0o666);
      const untrusted = fs.lstatSync(file).ino;
      version();
      expect(fs.lstatSync(file).ino).not.toBe(untrusted);
      expect(fs.lstatSync(file).mode & 0o777).toBe(0o600);
      fs.writeFileSync(file, Buffer.alloc(4096, 0x5a));
      const corrupt = fs.lstatSync(file).ino;
      version();
      expect(fs.lstatSync(file).ino).not.toBe(corrupt);
      expect(fs.readFileSync(file).subarray(0, 64).equals(Buffer.alloc(64, 0x5a))).toBe(false);
    });

    test('a command that ran a policy writes a cache the next run accepts (V8 flags restored)', () => {
      // the policy engine sets V8 flags; a cache written with them set was rejected and rewritten by every run
      const inspect = () => {
        const r = spawnSync(copy, ['--root', path.join(tmp, 'cache-root'), 'policy', 'inspect', 'baseline'], {
          env: {},
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
      };
      const file = cacheOf('policy');
      fs.rmSync(file, { force: true });
      inspect();
      const st = fs.lstatSync(file);
      inspect();
      const again = fs.lstatSync(file);
      expect([again.ino, again.mtimeMs]).toEqual([st.ino, st.mtimeMs]);
    });

    test('a cache written without the policy engine is written again by the first run that uses it, then kept', () => {
      // a `box run` without a policy wrote the cache of every later start, with a policy or not
      const policy = (...args: string[]) => {
        const r = spawnSync(copy, ['--root', path.join(tmp, 'cache-root'), 'policy', ...args], {
          env: {},
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
      };
      const file = cacheOf('policy');
      const header = () => headerOf(file);
      fs.rmSync(file, { force: true });
      policy('ls');
      expect(header()).toBe('box-code-cache features=');
      const without = fs.lstatSync(file);
      policy('inspect', 'baseline');
      const withEngine = fs.lstatSync(file);
      expect(withEngine.ino).not.toBe(without.ino);
      expect(header()).toBe('box-code-cache features=policy');
      expect(withEngine.size).toBeGreaterThan(without.size);
      policy('ls');
      policy('inspect', 'strict');
      expect(fs.lstatSync(file).ino).toBe(withEngine.ino);
    });

    test('a cache written by a start no policy patched is written again by the first start with a patch, then kept', () => {
      // strict's patch (read-only root, no-new-privileges) was compiled again by every start after
      // a cache that a start admitted as it was (baseline, its limits given) had written
      const t = new TestRoot('box-cache-patch-');
      try {
        importBusybox(t);
        const limits = ['--memory', '64m', '--cpus', '0.5', '--pids-limit', '100', '--user', '1000:1000'];
        const run = (policy: string) => {
          const r = t.box(['run', '--rm', '--network', 'none', ...limits, '--policy', policy, 'busybox', 'true']);
          expect(r.status, r.stderr).toBe(0);
        };
        const file = cacheOf('run+policy');
        const header = () => headerOf(file);
        fs.rmSync(file, { force: true });
        run('baseline');
        expect(header()).toBe('box-code-cache features=policy');
        const unpatched = fs.lstatSync(file).ino;
        run('strict');
        expect(header()).toBe('box-code-cache features=policy,policy-patch');
        const patched = fs.lstatSync(file).ino;
        expect(patched).not.toBe(unpatched);
        run('baseline');
        run('strict');
        expect(fs.lstatSync(file).ino).toBe(patched);
      } finally {
        t.cleanup();
      }
    });

    test("a start with --policy keeps a cache of its own: a start without one does not deserialise the engine's code", () => {
      const t = new TestRoot('box-cache-policy-');
      try {
        importBusybox(t);
        const run = (...args: string[]) => {
          const r = t.box(['run', '--rm', '--network', 'none', ...args, 'busybox', 'true']);
          expect(r.status, r.stderr).toBe(0);
        };
        const plain = cacheOf('run');
        const policed = cacheOf('run+policy');
        for (const f of [plain, policed]) fs.rmSync(f, { force: true });
        const limits = ['--memory', '64m', '--cpus', '0.5', '--pids-limit', '100', '--user', '1000:1000'];
        run(...limits);
        run(...limits, '--policy', 'baseline');
        run(...limits, '--policy=strict');
        expect(headerOf(plain)).toBe('box-code-cache features=');
        expect(headerOf(policed)).toBe('box-code-cache features=policy,policy-patch');
        expect(fs.lstatSync(policed).size).toBeGreaterThan(fs.lstatSync(plain).size);
      } finally {
        t.cleanup();
      }
    });

    test("run -d and a foreground run keep caches of their own: neither compiles the other's code again", () => {
      // one cache held only what the first kind compiled: a foreground start after a `run -d` wrote
      // it compiled the foreground path (stdio, the wait for the end) again every time, and back
      const t = new TestRoot('box-cache-detach-');
      try {
        importBusybox(t);
        const detached = cacheOf('run+detach');
        const plain = cacheOf('run');
        for (const f of [detached, plain]) fs.rmSync(f, { force: true });
        const started = t.box(['run', '-dit', '--network', 'none', 'busybox', 'sh']);
        expect(started.status, started.stderr).toBe(0);
        expect(fs.existsSync(detached)).toBe(true);
        expect(fs.existsSync(plain)).toBe(false);
        const written = fs.lstatSync(detached).ino;
        const r = t.box(['run', '--rm', '--network', 'none', 'busybox', 'true']);
        expect(r.status, r.stderr).toBe(0);
        expect(fs.existsSync(plain)).toBe(true);
        expect(fs.lstatSync(detached).ino).toBe(written);
        expect(t.box(['rm', '-f', started.stdout.trim()]).status).toBe(0);
      } finally {
        t.cleanup();
      }
    });

    test('BOX_CODE_CACHE=0 neither reads nor writes it', () => {
      const file = cacheOf('version');
      fs.rmSync(file, { force: true });
      version({ BOX_CODE_CACHE: '0' });
      expect(fs.existsSync(file)).toBe(false);
    });
  });
});
