// Files a user names to box's policy commands (a request, a cases file, a policy, a default
// policy's JSON) are read only if they are regular files within their size cap: /dev/zero, a FIFO
// nobody writes to or an oversized input is one line and exit 125, never a read without end.
// (The seccomp profile of `box run` is covered in run-failures.test.ts.) An --env-file is box's
// alone: the Node.js runtime in the executable does not load it too.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Result, TestRoot } from '../support/box';

const t = new TestRoot('box-user-files-');
afterAll(() => t.cleanup());

const oneLine125 = (r: Result, message: string) => {
  expect(r.stderr).toBe(`box: ${message}\n`);
  expect(r.status).toBe(125);
};

describe('files a user names to box', () => {
  it('a request fragment: a device, a FIFO, standard input over 4 MiB', () => {
    const dev =
      'cannot read --request "/dev/zero" (a character device, not a regular file): give a JSON request fragment';
    oneLine125(t.box(['policy', 'eval', 'strict', '--request', '/dev/zero'], { timeout: 20_000 }), dev);
    const fifo = path.join(t.dir, 'request-fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    oneLine125(
      t.box(['policy', 'eval', 'strict', '--request', fifo], { timeout: 20_000 }),
      `cannot read --request "${fifo}" (a FIFO, not a regular file): give a JSON request fragment`,
    );
    const input = ' '.repeat(4 * 1024 * 1024 + 1);
    const big = t.box(['policy', 'eval', 'strict', '--request', '-'], { input, timeout: 20_000 });
    oneLine125(big, 'cannot read --request "-" (larger than 4 MiB): give a JSON request fragment');
    // Within the cap, standard input still works.
    const ok = t.box(['policy', 'eval', 'strict', '--request', '-'], { input: '{}', timeout: 20_000 });
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toHaveProperty('decision');
  });

  it('a cases file and a policy file that are devices', () => {
    oneLine125(
      t.box(['policy', 'test', 'strict', '/dev/zero'], { timeout: 20_000 }),
      'cannot read cases file "/dev/zero" (a character device, not a regular file): see box policy test --help',
    );
    oneLine125(
      t.box(['policy', 'inspect', '/dev/zero'], { timeout: 20_000 }),
      'cannot read policy "/dev/zero" (a character device, not a regular file): give a policy component (.wasm file)',
    );
  });

  it('a default policy file in policies.d that is a device or not a JSON object', () => {
    const dir = path.join(t.root, 'policies.d');
    fs.mkdirSync(dir, { recursive: true });
    const zero = path.join(dir, 'zero.json');
    fs.symlinkSync('/dev/zero', zero);
    // /dev/zero is writable by everyone: the trust check of policies.d refuses it before it is read
    try {
      oneLine125(
        t.box(['policy', 'ls'], { timeout: 20_000 }),
        `the default policy ${zero} has mode 0666, writable by group or others: ` +
          "make it root's alone (chown root, chmod go-w) or remove it",
      );
    } finally {
      fs.rmSync(zero);
    }
    // a device that is root's alone passes that check and is refused as no regular file
    const device = path.join(dir, 'device.json');
    expect(spawnSync('mknod', ['-m', '0600', device, 'c', '1', '5']).status).toBe(0);
    try {
      oneLine125(
        t.box(['policy', 'ls'], { timeout: 20_000 }),
        `cannot read default policy "${device}" (a character device, not a regular file): fix or remove the file`,
      );
    } finally {
      fs.rmSync(device);
    }
    const nul = path.join(dir, 'null.json');
    fs.writeFileSync(nul, '[null]');
    const notObject = `default policy ${nul}: expected a JSON object: fix or remove the file`;
    oneLine125(t.box(['policy', 'ls'], { timeout: 20_000 }), notObject);
    fs.rmSync(nul);
    expect(t.box(['policy', 'ls']).status).toBe(0);
  });

  it("an --env-file is read by box only: node's own loader does not run its NODE_OPTIONS in box", () => {
    const marker = path.join(t.dir, 'node-options-ran');
    const preload = path.join(t.dir, 'preload.js');
    fs.writeFileSync(preload, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`);
    const envFile = path.join(t.dir, 'hostile.env');
    fs.writeFileSync(envFile, `NODE_OPTIONS=--require ${preload}\n`);
    for (const flag of [['--env-file', envFile], [`--env-file=${envFile}`]]) {
      const r = t.box(['run', '--pull', 'never', ...flag, 'nosuchimage', 'true'], { timeout: 20_000 });
      expect(r.stderr).toMatch(/^box: image "nosuchimage" not found/);
      expect(fs.existsSync(marker)).toBe(false);
    }
    // And /dev/zero is refused by box rather than read by node without end.
    oneLine125(
      t.box(['run', '--pull', 'never', '--env-file', '/dev/zero', 'nosuchimage', 'true'], { timeout: 20_000 }),
      'cannot read --env-file "/dev/zero" (a character device, not a regular file): give a readable file of NAME=VALUE lines',
    );
  });
});
