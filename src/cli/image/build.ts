// `box build [OPTIONS] CONTEXT`: an image from a Dockerfile (src/build/). CONTEXT is a directory,
// or `-` for a Dockerfile on standard input with no context. Progress goes to stderr, the image
// id to stdout (alone with -q).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, readIgnoreRules } from '../../build/executor';
import { parseDockerfile } from '../../build/dockerfile';
import { parseProgress, Progress } from '../../build/progress';
import { parseSecretFlag } from '../../build/run-mounts';
import { BoxError } from '../../errors';
import { parseImageRef } from '../../image/reference';
import { requireRoot } from '../../runtime/create';
import { readUserText } from '../../util/user-file';
import { writeStderr } from '../../util/stderr';
import { writeFileAtomic } from '../../util/fs';
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';

const DOCKERFILE_MAX = 4 << 20;

export const buildCommand: CommandSpec = {
  paths: [['build'], ['image', 'build']],
  summary: 'Build an image from a Dockerfile.',
  flags: [
    { names: ['--tag', '-t'], key: 'tag', kind: 'list', value: 'name[:tag]', description: 'name the image' },
    {
      names: ['--file', '-f'],
      key: 'file',
      kind: 'string',
      value: 'file',
      description: 'the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)',
    },
    { names: ['--build-arg'], key: 'buildArg', kind: 'list', value: 'K[=V]', description: 'a value for an ARG' },
    {
      names: ['--target'],
      key: 'target',
      kind: 'string',
      value: 'stage',
      description: 'build this stage (and what it needs) only',
    },
    { names: ['--no-cache'], key: 'noCache', kind: 'bool', description: 'run every step, whatever the cache holds' },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'print only the image id' },
    {
      names: ['--iidfile'],
      key: 'iidfile',
      kind: 'string',
      value: 'file',
      description: 'write the image id to a file',
    },
    { names: ['--label'], key: 'label', kind: 'list', value: 'K=V', description: 'set a label on the image' },
    {
      names: ['--pull'],
      key: 'pull',
      kind: 'bool',
      description: 'pull every FROM image, even one already stored (missing ones are always pulled)',
    },
    {
      names: ['--network'],
      key: 'network',
      kind: 'string',
      value: 'mode',
      description: 'network of RUN steps: bridge (default: the default bridge, outbound NAT), none or host',
    },
    {
      names: ['--secret'],
      key: 'secret',
      kind: 'list',
      value: 'id=ID,src=PATH|env=VAR',
      description: 'a secret for RUN --mount=type=secret,id=ID (never in the image)',
    },
    {
      names: ['--progress'],
      key: 'progress',
      kind: 'string',
      value: 'mode',
      description: 'auto (default: tty on a terminal, else plain), plain, tty or quiet',
    },
  ],
  positionals: [{ name: 'CONTEXT' }],
  examples: ['box build -t app:1.0 .', 'box build -f Dockerfile.dev --build-arg VERSION=2 --target test .'],
  async run(a) {
    requireRoot();
    const tags = list(a, 'tag').map((t) => parseImageRef(t));
    const buildArgs = new Map<string, string>();
    for (const kv of list(a, 'buildArg')) {
      const i = kv.indexOf('=');
      const name = i < 0 ? kv : kv.slice(0, i);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        throw new BoxError(`invalid --build-arg "${kv}": expected NAME=VALUE`);
      const value = i < 0 ? process.env[name] : kv.slice(i + 1);
      if (value !== undefined) buildArgs.set(name, value);
    }
    const labels: Record<string, string> = {};
    for (const kv of list(a, 'label')) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new BoxError(`invalid --label "${kv}": expected KEY=VALUE`);
      labels[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const network = str(a, 'network') ?? 'bridge';
    if (network !== 'none' && network !== 'host' && network !== 'bridge')
      throw new BoxError(`invalid --network "${network}": box build takes bridge (default), none or host`);
    const secrets = new Map(
      list(a, 'secret')
        .map((raw) => parseSecretFlag(raw))
        .map((s) => [s.id, s]),
    );
    const progressMode = bool(a, 'quiet') ? 'quiet' : parseProgress(str(a, 'progress'), process.stderr.isTTY === true);
    const contextArg = a.positionals[0];
    let context: string | undefined;
    if (contextArg !== '-') {
      context = path.resolve(contextArg);
      let st: fs.Stats;
      try {
        st = fs.statSync(context);
      } catch {
        throw new BoxError(`build context "${contextArg}" not found: give a directory, or - for a Dockerfile on stdin`);
      }
      if (!st.isDirectory())
        throw new BoxError(
          `build context "${contextArg}" is not a directory: box build takes a directory (tarballs not yet)`,
        );
    }
    const fileArg = str(a, 'file') ?? (context ? path.join(contextArg, 'Dockerfile') : '-');
    if (context === undefined && fileArg !== '-')
      throw new BoxError('box build - reads the Dockerfile from stdin: drop -f, or give a context directory');
    const hint = 'give the path of a Dockerfile (-f FILE)';
    const text = readUserText(fileArg, { what: 'Dockerfile', maxBytes: DOCKERFILE_MAX, hint, stdin: true });
    const dockerfile = parseDockerfile(text, fileArg === '-' ? 'Dockerfile (stdin)' : fileArg);
    const quiet = progressMode === 'quiet';
    const progress = new Progress(progressMode, writeStderr);
    const result = await build({
      roots: roots(),
      dockerfile,
      context,
      ignore: readIgnoreRules(context, fileArg === '-' ? undefined : path.resolve(fileArg)),
      buildArgs,
      target: str(a, 'target'),
      noCache: bool(a, 'noCache'),
      labels,
      tags,
      network,
      secrets,
      pull: async (image, why) => {
        if (why === 'missing' && !quiet) writeStderr(`Unable to find image '${image}' locally\n`);
        const { pullCommand } = require('./pull') as typeof import('./pull');
        return pullCommand(roots(), image, { out: process.stderr, quiet });
      },
      pullAlways: bool(a, 'pull'),
      progress,
      warn: (msg) => progress.message(`box: ${msg}`),
    });
    const iidfile = str(a, 'iidfile');
    if (iidfile) writeFileAtomic(path.resolve(iidfile), result.imageId, 0o644);
    if (!quiet) for (const t of tags) writeStderr(`Successfully tagged ${t.name}:${t.tag}\n`);
    process.stdout.write(`${result.imageId}\n`);
    return 0;
  },
};
