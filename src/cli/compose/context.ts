// What `box compose`'s own options (before the subcommand: -f, -p, --project-directory,
// --env-file, --profile) say, shared by every compose subcommand, and the project they load.
import { loadProject, MAX_COMPOSE_FILE } from '../../compose/project';
import { readUserText } from '../../util/user-file';
import type { Project } from '../../compose/model';
import { FlagSpec } from '../args';
import { writeStderr } from '../../util/stderr';

export const COMPOSE_FLAGS: FlagSpec[] = [
  { names: ['--file', '-f'], key: 'file', kind: 'list', value: 'file', description: 'compose file ("-": stdin)' },
  { names: ['--project-name', '-p'], key: 'projectName', kind: 'string', value: 'name', description: 'project name' },
  {
    names: ['--project-directory'],
    key: 'projectDirectory',
    kind: 'string',
    value: 'dir',
    description: "the project directory (default: the first compose file's)",
  },
  {
    names: ['--env-file'],
    key: 'envFile',
    kind: 'list',
    value: 'file',
    description: 'environment file (default .env)',
  },
  { names: ['--profile'], key: 'profile', kind: 'list', value: 'name', description: 'profile to enable' },
];

export const composeOptions: {
  files: string[];
  projectName?: string;
  projectDirectory?: string;
  envFiles: string[];
  profiles: string[];
} = { files: [], envFiles: [], profiles: [] };

export const warn = (msg: string) => writeStderr(`box: ${msg}\n`);

/** The project of the compose files, with `enable` (services named on the command line) enabled. */
export function loadComposeProject(enable: string[] = []): Project {
  return loadProject({
    ...composeOptions,
    enable,
    cwd: process.cwd(),
    env: process.env,
    readStdin: () =>
      readUserText('-', { what: 'compose file', maxBytes: MAX_COMPOSE_FILE, hint: 'pipe a compose file', stdin: true }),
    warn,
  });
}
