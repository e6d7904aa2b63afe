// `box commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]`: a new image from a container's changes.
import { commitContainer } from '../../build/commit';
import { parseImageRef } from '../../image/reference';
import { CommandSpec, list, str } from '../args';
import { roots } from '../context';
import { lookup, store } from '../container/common';

export const commitCommand: CommandSpec = {
  paths: [['commit'], ['container', 'commit']],
  summary: "Create a new image from a container's changes.",
  flags: [
    {
      names: ['--change', '-c'],
      key: 'change',
      kind: 'list',
      value: 'instruction',
      description: 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, STOPSIGNAL, VOLUME',
    },
    { names: ['--message', '-m'], key: 'message', kind: 'string', value: 'text', description: 'commit message' },
    { names: ['--author', '-a'], key: 'author', kind: 'string', value: 'name', description: 'author' },
    {
      names: ['--pause', '-p'],
      key: 'pause',
      kind: 'bool',
      description: 'pause the container while committing (default true; --pause=false does not)',
    },
  ],
  positionals: [{ name: 'CONTAINER' }, { name: 'REPOSITORY[:TAG]', optional: true }],
  examples: ['box commit -c \'CMD ["httpd", "-f"]\' -m "web content" web web:2'],
  async run(a) {
    const ref = a.positionals[1] !== undefined ? parseImageRef(a.positionals[1]) : undefined;
    const s = store();
    const record = lookup(s, a.positionals[0]);
    const id = await commitContainer(roots(), s, record, {
      changes: list(a, 'change'),
      message: str(a, 'message'),
      author: str(a, 'author'),
      pause: a.flags.pause !== false,
      ref,
    });
    process.stdout.write(`${id}\n`);
    return 0;
  },
};
