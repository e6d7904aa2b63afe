// `box system install-runtime`: makes box-runc, box's OCI runtime (README "box as an OCI runtime"),
// a copy of box's native helper beside the box executable. Run as box-runc, the helper answers
// start, state, kill, delete, ps and list itself, with no Node.js start, and runs the box beside
// it for everything else (native/oci-runc.c, PROTOCOL.md "box-runc"). A copy, not a link: the
// helper is embedded in box, and a later box must be installed again (its helper may differ).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSea, readAsset } from '../../assets';
import { BoxError, errnoCode } from '../../errors';
import { writeFileAtomic } from '../../util/fs';
import { CommandSpec, str } from '../args';

/** Installs DIR/box-runc, and DIR/box as a link to this executable where DIR is not its directory. */
export function installRuntime(dir: string, boxExe: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const besideBox = path.join(dir, 'box');
  if (path.resolve(path.dirname(boxExe)) !== dir) {
    let target: string | undefined;
    try {
      target = fs.realpathSync(besideBox);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      fs.symlinkSync(boxExe, besideBox);
    }
    if (target !== undefined && target !== fs.realpathSync(boxExe)) {
      throw new BoxError(
        `${besideBox} exists and is not this box: box-runc runs the box beside it; choose another --dir`,
      );
    }
  }
  const runc = path.join(dir, 'box-runc');
  try {
    writeFileAtomic(runc, readAsset('box-helper'), 0o755, true);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    throw new BoxError(
      `cannot write ${runc} (${code}): run box system install-runtime as root, or choose another --dir`,
    );
  }
  return runc;
}

export const installRuntimeCommand: CommandSpec = {
  paths: [['system', 'install-runtime']],
  summary: "Install box-runc, box's OCI runtime for containerd, podman and dockerd, beside the box executable.",
  flags: [
    {
      names: ['--dir', '-d'],
      key: 'dir',
      kind: 'string',
      value: 'dir',
      description: "where to put box-runc (default: box's own directory; elsewhere a link named box is added)",
    },
  ],
  positionals: [],
  async run(a) {
    if (!isSea()) throw new BoxError('install-runtime needs the single executable (dist/box): box-runc runs it');
    const dir = path.resolve(str(a, 'dir') ?? path.dirname(process.execPath));
    process.stdout.write(`${installRuntime(dir, process.execPath)}\n`);
    return 0;
  },
};
