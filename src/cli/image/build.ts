// `box build [OPTIONS] CONTEXT`: an image from a Dockerfile (src/build/). CONTEXT is a directory,
// a tar archive, or `-` for an archive or a Dockerfile on standard input (src/build/context.ts).
// Progress goes to stderr, the image id to stdout (alone with -q).
import { openContext } from '../../build/context';
import { build } from '../../build/executor';
import { parseProgress, Progress } from '../../build/progress';
import { parseSecretFlag } from '../../build/run-mounts';
import { goArch } from '../../image/config';
import { BoxError } from '../../errors';
import { parseImageRef } from '../../image/reference';
import { requireRoot } from '../../runtime/create';
import { writeStderr } from '../../util/stderr';
import { outputFile, writeFileAtomic } from '../../util/fs';
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';

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
      names: ['--platform'],
      key: 'platform',
      kind: 'string',
      value: 'os/arch',
      description: "build for this platform: this machine's only (linux/amd64 here)",
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
    const platform = str(a, 'platform');
    const here = `linux/${goArch()}`;
    if (platform !== undefined && platform !== here)
      throw new BoxError(`--platform ${platform}: box builds for this machine's platform only (${here}): drop it`);
    // checked before the build, which its write ends
    const iidfileFlag = str(a, 'iidfile');
    const iidfile = iidfileFlag ? outputFile(iidfileFlag, '--iidfile') : undefined;
    const progressMode = bool(a, 'quiet') ? 'quiet' : parseProgress(str(a, 'progress'), process.stderr.isTTY === true);
    const quiet = progressMode === 'quiet';
    const progress = new Progress(progressMode, writeStderr);
    const context = await openContext(roots(), a.positionals[0], str(a, 'file'));
    const result = await build({
      roots: roots(),
      dockerfile: context.dockerfile,
      context: context.dir,
      ignore: context.ignore,
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
    }).finally(() => context.dispose());
    if (iidfile) writeFileAtomic(iidfile, result.imageId, 0o644);
    if (!quiet) for (const t of tags) writeStderr(`Successfully tagged ${t.name}:${t.tag}\n`);
    process.stdout.write(`${result.imageId}\n`);
    return 0;
  },
};
