// A foreground `box run`'s and `box exec`'s stdio without -t: the container gets pipes that box's
// helper relays, never the caller's descriptors, which root in it could chmod, chown or truncate
// through /proc/self/fd (the host file or terminal itself). Input, output, exit status, EOF,
// SIGPIPE and signals behave as when the container held them; a foreground run's output is also
// kept in its log, stdout and stderr apart, for `box logs`, and a killed box loses none of it.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, REPO, runDetached, until, waitForOutput } from '../support/box';

/** What root in a container does to its stdio's files, then what they are to it. */
const ATTACK =
  'for fd in 0 1 2; do chmod 777 /proc/self/fd/$fd; chown 4242 /proc/self/fd/$fd; done; ' +
  'truncate -s 0 /proc/self/fd/1 2>/dev/null; stat -L -c %F /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2';

describe('box run and exec: stdio through pipes', () => {
  const t = busyboxRoot();
  const owner = (file: string) => {
    const st = fs.statSync(file);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  };
  /** A 0600 file of the test's with `content`. */
  const hostFile = (name: string, content: string) => {
    const file = path.join(t.dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    return file;
  };
  /** box with stdin `input` (a file) and stdout and stderr appended to `output` (a file). */
  const withFiles = (args: string[], input: string, output: string) => {
    const fdIn = fs.openSync(input, 'r');
    const fdOut = fs.openSync(output, 'a');
    try {
      return spawnSync(BOX, t.args(args), { stdio: [fdIn, fdOut, fdOut], timeout: 60_000 });
    } finally {
      fs.closeSync(fdIn);
      fs.closeSync(fdOut);
    }
  };
  const untouched = { mode: 0o600, uid: 0, gid: 0 };

  it("gives the container pipes, not the caller's files: their modes, owners and content stay", () => {
    for (const interactive of [false, true]) {
      const input = hostFile('in', 'typed\n');
      const output = hostFile('out', 'kept\n');
      const args = ['run', '--rm', '--network', 'none', ...(interactive ? ['-i'] : []), 'busybox'];
      const r = withFiles([...args, 'sh', '-c', `${ATTACK}; cat; echo err >&2`], input, output);
      expect({ interactive, status: r.status }).toEqual({ interactive, status: 0 });
      expect(owner(input)).toEqual(untouched);
      expect(owner(output)).toEqual(untouched);
      // without -i stdin is the container's own null device; with -i the caller's input comes through
      const stdin = interactive ? 'fifo\n' : 'character special file\n';
      const typed = interactive ? 'typed\n' : '';
      expect(fs.readFileSync(output, 'utf8')).toBe(`kept\n${stdin}fifo\nfifo\n${typed}err\n`);
    }
  });

  it("gives the container pipes, not the caller's terminal (with and without -i)", () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const box = [BOX, ...t.args(['run', '--rm', '--network', 'none'])].join(' ');
    const mode = 'stat -c %a:%u:%g "$(tty)"';
    const script = `${mode}; ${box} busybox sh -c '${ATTACK}'; ${box} -i busybox sh -c '${ATTACK}'; ${mode}`;
    const r = spawnSync('python3', [driver, '--', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    const out = JSON.parse(r.stdout) as { output: string; status: number };
    const lines = out.output.split('\r\n');
    expect(lines.slice(1, 7)).toEqual(['character special file', 'fifo', 'fifo', 'fifo', 'fifo', 'fifo']);
    expect(lines[7]).toBe(lines[0]);
    expect(lines[0]).toMatch(/^6[02]0:0:\d+$/);
  });

  it('relays stdin to its EOF: `echo hi | box run -i IMAGE cat` prints hi and exits 0', () => {
    const args = t.args(['run', '--rm', '-i', '--network', 'none', 'busybox', 'cat']).join(' ');
    const shell = spawnSync('bash', ['-c', `echo hi | ${BOX} ${args}`], { encoding: 'utf8', timeout: 60_000 });
    expect([shell.status, shell.stdout, shell.stderr]).toEqual([0, 'hi\n', '']);
    const node = t.box(['run', '--rm', '-i', '--network', 'none', 'busybox', 'cat'], { input: 'hi\n' });
    expect([node.status, node.stdout, node.stderr]).toEqual([0, 'hi\n', '']);
  });

  it('relays 50 MB of binary output whole, to a socket and to a pipe', () => {
    const size = 50 * 1024 * 1024;
    const make = `head -c ${size} /dev/urandom >/dev/shm/data; cat /dev/shm/data; sha256sum </dev/shm/data >&2`;
    const args = ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', make];
    // node's pipes are sockets
    const r = spawnSync(BOX, t.args(args), { maxBuffer: 2 * size, timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBe(size);
    expect(`${crypto.createHash('sha256').update(r.stdout).digest('hex')}  -\n`).toBe(r.stderr.toString());
    // a shell's pipe
    const quoted = t.args(args.slice(0, -1)).join(' ');
    const piped = spawnSync('bash', ['-c', `${BOX} ${quoted} '${make}' | sha256sum`], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect([piped.status, piped.stdout]).toEqual([0, piped.stderr]);
  });

  it('a reader that went away ends the container by SIGPIPE, as before (`| head -1`: 141)', () => {
    const args = t.args(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', "'yes; exit $?'"]).join(' ');
    const r = spawnSync('bash', ['-c', `${BOX} ${args} | head -1; echo "rc=\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toBe('y\nrc=141\n');
  });

  it("forwards Ctrl-C on the caller's terminal (no -t) to the container", () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const cmd = 'trap "echo got-INT; exit 9" INT; echo ready; while :; do sleep 0.05; done';
    const box = [BOX, ...t.args(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', cmd])];
    const r = spawnSync('python3', [driver, '--send-after', 'ready', '--send', '\x03', '--', ...box], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = JSON.parse(r.stdout) as { output: string; status: number };
    expect(out.output).toContain('got-INT');
    expect(out.status).toBe(9);
  });

  it("keeps a foreground run's output in its log: box logs shows it, stdout and stderr apart", () => {
    const r = t.box(['run', '--name', 'fg-logs', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'out\n', 'err\n']);
    const logs = t.box(['logs', 'fg-logs']);
    expect([logs.status, logs.stdout, logs.stderr]).toEqual([0, 'out\n', 'err\n']);
    // a later start appends, as Docker's json-file does
    expect(t.box(['start', '-a', 'fg-logs']).status).toBe(0);
    expect(t.box(['logs', 'fg-logs']).stdout).toBe('out\nout\n');
    // with -t the terminal's output, as for a detached -t container
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const tty = [BOX, ...t.args(['run', '-t', '--name', 'fg-tty', '--network', 'none', 'busybox', 'echo', 'on-tty'])];
    const d = spawnSync('python3', [driver, '--', ...tty], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(d.stdout)).toMatchObject({ status: 0 });
    expect(t.box(['logs', 'fg-tty']).stdout).toBe('on-tty\r\n');
    expect(t.box(['rm', 'fg-logs', 'fg-tty']).status).toBe(0);
  });

  it('loses no output when box is killed: the helper logs on until the next command stops it', async () => {
    const cmd = 'echo before; i=0; while [ $i -lt 3 ]; do sleep 0.2; i=$((i+1)); done; echo after; exec sleep 600';
    const child = t.start(['run', '--name', 'fg-killed', '--network', 'none', 'busybox', 'sh', '-c', cmd]);
    // box's stdio stay open: the helper, its child, holds them until the container ends
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitForOutput(child.stdout!, 'before');
    // read straight from the store: any box command would stop the container first
    const dir = (id: string) => path.join(t.root, 'containers', id);
    const record = () => {
      const id = t
        .containerIds()
        .find((c) => fs.readFileSync(path.join(dir(c), 'container.json'), 'utf8').includes('"fg-killed"'));
      return { id, text: id ? fs.readFileSync(path.join(dir(id), 'container.json'), 'utf8') : '' };
    };
    // killed once its run is recorded (the output may come first: the helper writes box's stdout
    // itself); a box killed before that leaves a start that never recorded its run (lifecycle-faults)
    const { id } = until('the run is recorded', record, (r) => JSON.parse(r.text || '{}').state?.status === 'running');
    child.kill('SIGKILL');
    await exited;
    const log = path.join(dir(id!), 'container.log');
    until(
      'the output after box died is in the log',
      () => fs.readFileSync(log, 'utf8'),
      (text) => text.includes('after'),
    );
    const logs = t.box(['logs', 'fg-killed']);
    expect(logs.stdout).toBe('before\nafter\n');
    expect(t.box(['inspect', '-f', '{{.State.Status}}', 'fg-killed']).stdout.trim()).toBe('exited');
    expect(t.box(['rm', '-f', 'fg-killed']).status).toBe(0);
  });

  it("gives an exec pipes, not the caller's files; `echo hi | box exec -i` prints hi", () => {
    const id = runDetached(t, '--network', 'none', 'busybox', 'sleep', '600');
    try {
      const input = hostFile('exec-in', 'typed\n');
      const output = hostFile('exec-out', 'kept\n');
      const r = withFiles(['exec', '-i', id, 'sh', '-c', `${ATTACK}; cat`], input, output);
      expect(r.status).toBe(0);
      expect(owner(input)).toEqual(untouched);
      expect(owner(output)).toEqual(untouched);
      expect(fs.readFileSync(output, 'utf8')).toBe('kept\nfifo\nfifo\nfifo\ntyped\n');
      const args = t.args(['exec', '-i', id, 'cat']).join(' ');
      const shell = spawnSync('bash', ['-c', `echo hi | ${BOX} ${args}`], { encoding: 'utf8', timeout: 60_000 });
      expect([shell.status, shell.stdout, shell.stderr]).toEqual([0, 'hi\n', '']);
    } finally {
      t.box(['rm', '-f', id]);
    }
  });
});
