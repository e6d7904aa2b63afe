// box-helper on its own: native/test-helper.sh drives the static helper with hand-made specs
// (mounts, masks, exit codes, signals, init, tty, capabilities, seccomp) in real namespaces.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../support/box';

it('box-helper passes its own checks', () => {
  const r = spawnSync('bash', [path.join(REPO, 'native', 'test-helper.sh')], { encoding: 'utf8', timeout: 170_000 });
  const failures = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
  expect(failures, r.stdout + r.stderr).toEqual([]);
  expect(r.stdout).toMatch(/^passed \d+, failed 0$/m);
  expect(r.status).toBe(0);
}, 180_000);
