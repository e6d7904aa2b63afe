// Compose projects for tests: a directory holding one compose.yaml under a test root, its
// `box compose` command prefix, and the project's containers as `box ps` lists them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestRoot } from './box';

export interface TestProject {
  dir: string;
  name: string;
  /** `compose -f DIR/compose.yaml -p NAME ...args` */
  compose: (...args: string[]) => string[];
  /** replaces the project's compose.yaml */
  write: (yaml: string) => void;
}

let projects = 0;

/** A project directory under the root's directory holding `compose.yaml`, named uniquely. */
export function composeProject(t: TestRoot, yaml: string): TestProject {
  const name = `p${process.pid}x${++projects}`;
  const dir = path.join(t.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'compose.yaml');
  const write = (text: string) => fs.writeFileSync(file, text);
  write(yaml);
  return { dir, name, write, compose: (...args) => ['compose', '-f', file, '-p', name, ...args] };
}

/** The ids of the project's containers, one-off ones too. */
export function composeContainers(t: TestRoot, name: string): string[] {
  return t
    .box(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${name}`])
    .stdout.split('\n')
    .filter(Boolean);
}
