// box-helper on its own: native/test-helper.sh drives the static helper with hand-made specs
// (mounts, masks, exit codes, signals, init, tty, capabilities, seccomp) in real namespaces.
// The script runs asynchronously: a spawnSync of it blocked the test worker's event loop for its
// whole run, long enough on a loaded machine for vitest's worker RPC to time out.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../support/box';

function runScript(script: string, timeoutMs: number): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (status) => resolve({ status, out }));
  });
}

it('box-helper passes its own checks', async () => {
  const r = await runScript(path.join(REPO, 'native', 'test-helper.sh'), 170_000);
  const failures = r.out.split('\n').filter((l) => l.startsWith('FAIL'));
  expect(failures, r.out).toEqual([]);
  expect(r.out).toMatch(/^passed \d+, failed 0$/m);
  expect(r.status).toBe(0);
}, 180_000);
