// `box build`'s CONTEXT argument, as Docker reads it: a directory; a tar archive (plain, gzip or
// zstd), given as a file or on standard input as `-`; or `-` with a Dockerfile on standard input
// and no context. Standard input is told apart by its first bytes (an archive's magic number or
// a valid tar header), as Docker does. An archive is hostile input: it is unpacked by the store's
// own unpacker (no `..`, nothing written through a symlink, no device nodes) into a private
// temporary directory under the storage root, and the Dockerfile and .dockerignore are then read
// inside that tree (openat2 beneath it), so no entry leads to a host file.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError } from '../errors';
import { decompressor } from '../image/compression';
import { LayerUnpacker } from '../image/unpack';
import { O_NOFOLLOW, O_RDONLY } from '../linux/syscalls';
import { layout, Roots } from '../paths';
import { LayerStack } from '../runtime/diff';
import { mkdirp } from '../util/fs';
import { ownedName } from '../util/owner';
import { readUserFile, readUserText } from '../util/user-file';
import { ARCHIVE_HEAD, archiveKind } from './archive';
import { Dockerfile, parseDockerfile } from './dockerfile';
import { IgnoreRules } from './patterns';

export const DOCKERFILE_MAX = 4 << 20;

export interface BuildContext {
  /** the context directory (the user's, or the archive unpacked); undefined for `-` with a Dockerfile */
  dir?: string;
  dockerfile: Dockerfile;
  ignore: IgnoreRules;
  /** removes what the context left (an unpacked archive) */
  dispose(): void;
}

const USAGE = 'give a directory, a tar archive (.tar, .tar.gz), or - for a Dockerfile or an archive on stdin';

/** What a context gives before its Dockerfile is parsed. */
interface ContextFiles extends Omit<BuildContext, 'dockerfile'> {
  dockerfileText: string;
  /** for messages: "Dockerfile (stdin)", the -f path, or the path in the archive */
  dockerfileName: string;
}

/** Reads the build context named by CONTEXT and -f (`file`), and parses its Dockerfile. */
export async function openContext(roots: Roots, contextArg: string, file: string | undefined): Promise<BuildContext> {
  const { dockerfileText, dockerfileName, ...files } = await contextFiles(roots, contextArg, file);
  try {
    return { ...files, dockerfile: parseDockerfile(dockerfileText, dockerfileName) };
  } catch (err) {
    files.dispose();
    throw err;
  }
}

async function contextFiles(roots: Roots, contextArg: string, file: string | undefined): Promise<ContextFiles> {
  if (contextArg === '-') return stdinContext(roots, file);
  const resolved = path.resolve(contextArg);
  let st: fs.Stats;
  try {
    st = fs.statSync(resolved);
  } catch {
    throw new BoxError(`build context "${contextArg}" not found: ${USAGE}`);
  }
  if (st.isDirectory()) {
    const dockerfile = file ?? path.join(contextArg, 'Dockerfile');
    return {
      dir: resolved,
      dockerfileText: readDockerfile(dockerfile),
      dockerfileName: dockerfile === '-' ? 'Dockerfile (stdin)' : dockerfile,
      ignore: readIgnoreRules(resolved, dockerfile === '-' ? undefined : path.resolve(dockerfile)),
      dispose: () => {},
    };
  }
  const kind = st.isFile() ? archiveKind(readHead(resolved)) : undefined;
  if (kind === undefined)
    throw new BoxError(`build context "${contextArg}" is neither a directory nor a tar archive: ${USAGE}`);
  // -f - with an archive: the Dockerfile from stdin, the context from the archive
  const stdinDockerfile = file === '-' ? readDockerfile('-') : undefined;
  const source = fs.createReadStream(resolved, { highWaterMark: 1 << 20 });
  return archiveContext(roots, source, kind, `build context "${contextArg}"`, file, stdinDockerfile);
}

async function stdinContext(roots: Roots, file: string | undefined): Promise<ContextFiles> {
  if (file === '-')
    throw new BoxError('box build - -f -: stdin holds the context or the Dockerfile, not both: give a context');
  const head = Buffer.alloc(ARCHIVE_HEAD);
  let n = 0;
  for (let got = -1; n < head.length && got !== 0; n += got) got = fs.readSync(0, head, n, head.length - n, null);
  const kind = archiveKind(head.subarray(0, n));
  if (kind === undefined) {
    if (file !== undefined)
      throw new BoxError(
        'box build - reads the Dockerfile from stdin: drop -f, or give a context (a directory or a tar archive)',
      );
    const rest = readUserFile('-', {
      what: 'Dockerfile',
      maxBytes: DOCKERFILE_MAX - n,
      hint: 'give a smaller one',
      stdin: true,
    });
    return {
      dockerfileText: Buffer.concat([head.subarray(0, n), rest]).toString('utf8'),
      dockerfileName: 'Dockerfile (stdin)',
      ignore: new IgnoreRules(''),
      dispose: () => {},
    };
  }
  const first = head.subarray(0, n);
  const rest = fs.createReadStream('', { fd: 0, autoClose: false, highWaterMark: 1 << 20 });
  const source = Readable.from(
    (async function* () {
      yield first;
      yield* rest;
    })(),
    { objectMode: false },
  );
  return archiveContext(roots, source, kind, 'the build context on stdin', file, undefined);
}

/** Unpacks the archive into a private temporary directory and reads its Dockerfile and .dockerignore. */
async function archiveContext(
  roots: Roots,
  source: Readable,
  kind: NonNullable<ReturnType<typeof archiveKind>>,
  what: string,
  file: string | undefined,
  stdinDockerfile: string | undefined,
): Promise<ContextFiles> {
  if (kind === 'bzip2' || kind === 'xz') {
    source.destroy();
    throw new BoxError(`${what} is ${kind}-compressed, which box cannot read: give a plain, gzip or zstd tar archive`);
  }
  const dir = path.join(layout.tmp(roots), ownedName('.tmp-context', randomBytes(6).toString('hex')));
  mkdirp(dir);
  const dispose = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const d = decompressor(kind === 'tar' ? 'none' : kind, what);
    const unpacker = new LayerUnpacker(dir, { preserveOwner: false, plainFiles: true });
    try {
      await pipeline([source, ...(d ? [d] : []), unpacker] as unknown as NodeJS.ReadWriteStream[]);
    } catch (err) {
      throw new BoxError(`${what}: ${(err as Error).message}: give an archive of plain files inside it`);
    }
    const tree = new LayerStack([dir]);
    try {
      const dockerfile = file ?? 'Dockerfile';
      const dockerfileText =
        stdinDockerfile ?? readInTree(tree, dockerfile, `no Dockerfile "${dockerfile}" in ${what}: name it with -f`);
      const ignoreFile = [
        ...(stdinDockerfile === undefined ? [`${dockerfile}.dockerignore`] : []),
        '.dockerignore',
      ].find((f) => tree.lookup('/' + f, true)?.stat.isFile());
      return {
        dir,
        dockerfileText,
        dockerfileName: stdinDockerfile === undefined ? dockerfile : 'Dockerfile (stdin)',
        ignore: new IgnoreRules(ignoreFile ? readInTree(tree, ignoreFile, '') : ''),
        dispose,
      };
    } finally {
      tree.close();
    }
  } catch (err) {
    dispose();
    throw err;
  }
}

/** A text file of the unpacked context, symlinks resolved inside it; `missing` is the error. */
function readInTree(tree: LayerStack, rel: string, missing: string): string {
  const found = tree.lookup('/' + rel, true);
  if (!found?.stat.isFile()) throw new BoxError(missing);
  if (found.stat.size > DOCKERFILE_MAX) throw new BoxError(`"${rel}" in the build context is larger than 4 MiB`);
  const fd = tree.open(found.layer, found.rel, O_RDONLY | O_NOFOLLOW);
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function readHead(file: string): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY);
  try {
    const head = Buffer.alloc(ARCHIVE_HEAD);
    return head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

function readDockerfile(file: string): string {
  const hint = 'give the path of a Dockerfile (-f FILE)';
  return readUserText(file, { what: 'Dockerfile', maxBytes: DOCKERFILE_MAX, hint, stdin: true });
}

/** The .dockerignore of a context (FILE.dockerignore beside the Dockerfile first, as Docker). */
export function readIgnoreRules(context: string | undefined, dockerfilePath: string | undefined): IgnoreRules {
  const candidates = [
    ...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []),
    ...(context ? [`${context}/.dockerignore`] : []),
  ];
  for (const f of candidates) {
    try {
      return new IgnoreRules(fs.readFileSync(f, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return new IgnoreRules('');
}
