// What the `box build` tests share: a context directory written from a map of files, and `box
// build` run in a test's storage root with its output kept apart.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BOX, type TestRoot } from './box';

/** A fresh directory under the test's dir holding these files (paths relative, parents made). */
export function writeContext(t: TestRoot, name: string, files: Record<string, string>): string {
  const dir = path.join(t.dir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

/** `box build ARGS` in the test's root, with INPUT on stdin; a build may take up to two minutes. */
export function boxBuild(
  t: TestRoot,
  args: string[],
  input?: string | Buffer,
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BOX, t.args(['build', ...args]), { encoding: 'utf8', input, env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
