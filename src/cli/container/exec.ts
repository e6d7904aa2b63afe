// `box exec`: a command in a running container, in all of its namespaces, cgroup and security
// settings.
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';

export const execCommand: CommandSpec = {
  paths: [['exec'], ['container', 'exec']],
  summary: 'Run a command in a running container, in all of its namespaces, cgroup and security settings.',
  flags: [
    {
      names: ['--detach', '-d'],
      key: 'detach',
      kind: 'bool',
      description: 'run the command in the background (its output is discarded)',
    },
    { names: ['--interactive', '-i'], key: 'interactive', kind: 'bool', description: 'keep standard input open' },
    { names: ['--tty', '-t'], key: 'tty', kind: 'bool', description: 'allocate a pseudo-terminal' },
    { names: ['--user', '-u'], key: 'user', kind: 'string', value: 'user', description: 'user[:group] to run as' },
    { names: ['--workdir', '-w'], key: 'workdir', kind: 'string', value: 'dir', description: 'working directory' },
    {
      names: ['--env', '-e'],
      key: 'env',
      kind: 'list',
      value: 'NAME=VALUE',
      description: 'set an environment variable',
    },
    {
      names: ['--env-file'],
      key: 'envFile',
      kind: 'list',
      value: 'file',
      description: 'read environment variables from a file',
    },
  ],
  positionals: [{ name: 'CONTAINER' }],
  stopAfterPositionals: true,
  async run(a) {
    const { execInContainer } = await import('../../runtime/exec');
    return execInContainer({
      roots: roots(),
      container: a.positionals[0],
      command: a.rest,
      user: str(a, 'user'),
      workdir: str(a, 'workdir'),
      env: list(a, 'env'),
      envFile: list(a, 'envFile'),
      tty: bool(a, 'tty'),
      interactive: bool(a, 'interactive'),
      detach: bool(a, 'detach'),
      warn: (msg: string) => process.stderr.write(`box: ${msg}\n`),
    });
  },
};
