// `box save`, and the output of archives for it and `box export`: written to a file (-o, via a
// temporary file renamed into place, so a failed save leaves no partial archive under the name) or
// to standard output when it is not a terminal.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../../errors';
import { outputFile, tempNameFor } from '../../util/fs';
import { CommandSpec, str } from '../args';
import { roots } from '../context';

/** Runs write() against the output named by -o, or standard output. */
export async function writeArchive(
  command: string,
  output: string | undefined,
  write: (out: NodeJS.WritableStream) => Promise<unknown>,
): Promise<void> {
  if (output === undefined || output === '-') {
    if (process.stdout.isTTY)
      throw new BoxError(
        `${command}: cowardly refusing to write an archive to a terminal: use -o FILE or redirect the output`,
      );
    try {
      await write(process.stdout);
    } catch (err) {
      if (err instanceof BoxError) throw err;
      throw new BoxError(`${command}: cannot write to standard output: ${(err as Error).message}`);
    }
    return;
  }
  if (fs.statSync(output, { throwIfNoEntry: false })?.isDirectory())
    throw new BoxError(`${command}: ${output} is a directory: give a file name`);
  const dest = outputFile(output, `${command}: -o`);
  if (!fs.existsSync(path.dirname(dest)))
    throw new BoxError(`${command}: cannot write ${output}: the directory ${path.dirname(dest)} does not exist`);
  const tmp = tempNameFor(dest);
  const out = fs.createWriteStream(tmp, { flags: 'wx' });
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  try {
    await write(out);
    out.end();
    await closed;
    fs.renameSync(tmp, dest);
  } catch (err) {
    out.destroy();
    await closed.catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    if (err instanceof BoxError) throw err;
    throw new BoxError(`${command}: cannot write ${output}: ${(err as Error).message}`);
  }
}

export const saveCommand: CommandSpec = {
  paths: [['save'], ['image', 'save']],
  summary: 'Save images to a tarball (an OCI image layout that docker load also reads).',
  flags: [
    {
      names: ['--output', '-o'],
      key: 'output',
      kind: 'string',
      value: 'file',
      description: 'write to this file instead of standard output',
    },
  ],
  positionals: [{ name: 'IMAGE', rest: true }],
  examples: ['box save -o busybox.tar busybox:latest', 'box save app:1 app:2 | gzip > app.tar.gz'],
  async run(a) {
    const { saveImages } = await import('../../image/save');
    const { ImageStore } = await import('../../image/store');
    const store = new ImageStore(roots());
    await writeArchive('save', str(a, 'output'), (out) => saveImages(store, a.positionals, out));
    return 0;
  },
};
