// Runs once before the tests: the Debian packages the integration tests use are installed if
// missing (busybox-static for the test image, python3 for the pty driver, ...).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export default function setup(): void {
  const r = spawnSync('bash', [path.join(__dirname, '..', '..', 'build', 'test-deps.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('installing the test dependencies failed (build/test-deps.sh)');
}
