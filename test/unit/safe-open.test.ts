// src/util/safe-open.ts on a real file system (as root): a symlink at the last component or at any
// component between a root and a directory box mounts is refused as a link, new files are 0600
// whatever the umask, and a root is judged by its owner, its mode and the directories above it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { appendNoFollow, openNoFollow, plainDirBeneath, readNoFollow, trustRoots } from '../../src/util/safe-open';

let base: string;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'box-safe-open-'));
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

const linkError = (p: string) =>
  `${p} is a symbolic link where box keeps its own file: box never follows links in its store; remove it`;
const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;

describe('opening store files', () => {
  it('refuses a symlink at the last component for reads, appends and opens, and leaves its target alone', () => {
    const target = path.join(base, 'target');
    fs.writeFileSync(target, 'host\n');
    const link = path.join(base, 'events.jsonl');
    fs.symlinkSync(target, link);
    expect(() => readNoFollow(link)).toThrow(new BoxError(linkError(link)));
    expect(() => appendNoFollow(link, 'x\n')).toThrow(new BoxError(linkError(link)));
    expect(() => openNoFollow(link, fs.constants.O_RDWR | fs.constants.O_CREAT)).toThrow(new BoxError(linkError(link)));
    expect(fs.readFileSync(target, 'utf8')).toBe('host\n');
  });

  it('creates files 0600 whatever the umask, and appends whole lines', () => {
    const old = process.umask(0);
    try {
      const file = path.join(base, 'audit.jsonl');
      appendNoFollow(file, 'a\n');
      appendNoFollow(file, 'b\n');
      expect(mode(file)).toBe(0o600);
      expect(readNoFollow(file).toString()).toBe('a\nb\n');
    } finally {
      process.umask(old);
    }
  });
});

describe('plainDirBeneath', () => {
  it('makes a missing directory with the mode asked for and accepts an existing one', () => {
    const root = fs.mkdtempSync(path.join(base, 'root-'));
    fs.mkdirSync(path.join(root, 'containers', 'c'), { recursive: true });
    plainDirBeneath(root, path.join(root, 'containers', 'c', 'upper'), 0o755);
    plainDirBeneath(root, path.join(root, 'containers', 'c', 'work'), 0o700);
    expect(mode(path.join(root, 'containers', 'c', 'upper'))).toBe(0o755);
    expect(mode(path.join(root, 'containers', 'c', 'work'))).toBe(0o700);
    plainDirBeneath(root, path.join(root, 'containers', 'c', 'upper'), 0o755);
  });

  it('refuses a symlink at the end or on the way, and a file, creating nothing through them', () => {
    const root = fs.mkdtempSync(path.join(base, 'root-'));
    const elsewhere = fs.mkdtempSync(path.join(base, 'elsewhere-'));
    fs.mkdirSync(path.join(root, 'containers'));
    fs.symlinkSync(elsewhere, path.join(root, 'containers', 'linked'));
    const atEnd = path.join(root, 'containers', 'linked');
    expect(() => plainDirBeneath(root, atEnd, 0o700)).toThrow(new BoxError(linkError(atEnd)));
    const onTheWay = path.join(root, 'containers', 'linked', 'upper');
    expect(() => plainDirBeneath(root, onTheWay, 0o755)).toThrow(new BoxError(linkError(onTheWay)));
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    fs.writeFileSync(path.join(root, 'containers', 'file'), '');
    const file = path.join(root, 'containers', 'file');
    expect(() => plainDirBeneath(root, file, 0o700)).toThrow(/is not a directory: the container's files are damaged/);
  });
});

describe('trustRoots', () => {
  it('tightens a loose root and its top-level entries, once per process', () => {
    const root = fs.mkdtempSync(path.join(base, 'loose-'));
    fs.chmodSync(root, 0o755);
    fs.mkdirSync(path.join(root, 'layers'), { mode: 0o755 });
    fs.mkdirSync(path.join(root, 'run'), { mode: 0o711 });
    fs.writeFileSync(path.join(root, 'run', 'events.jsonl'), '', { mode: 0o644 });
    const roots = { root, runroot: path.join(root, 'run') };
    trustRoots(roots);
    expect([root, path.join(root, 'layers'), roots.runroot].map(mode)).toEqual([0o700, 0o700, 0o700]);
    expect(mode(path.join(root, 'run', 'events.jsonl'))).toBe(0o600);
    fs.chmodSync(path.join(root, 'layers'), 0o755);
    trustRoots(roots); // checked already: no second pass in the same process
    expect(mode(path.join(root, 'layers'))).toBe(0o755);
  });

  it('refuses a root another user owns, or one writable by others, and accepts a missing one', () => {
    const owned = fs.mkdtempSync(path.join(base, 'owned-'));
    fs.chownSync(owned, 65534, 65534);
    expect(() => trustRoots({ root: owned, runroot: path.join(owned, 'run') })).toThrow(
      /is owned by uid 65534, not root/,
    );
    const open = fs.mkdtempSync(path.join(base, 'open-'));
    fs.chmodSync(open, 0o777);
    expect(() => trustRoots({ root: open, runroot: path.join(open, 'run') })).toThrow(
      /has mode 0777, writable by group or others/,
    );
    const missing = path.join(base, 'missing', 'root');
    trustRoots({ root: missing, runroot: path.join(missing, 'run') });
    expect(fs.existsSync(missing)).toBe(false); // made by the first write, not by the check
  });
});
