// RUN --mount: the mounts a build step asks for, read from their specs (BuildKit's syntax) and
// turned into mount requests of the step's container, which box's own mount code makes (binds by
// the helper's bind op, tmpfs as --tmpfs): a cache mount is a directory under the build cache that
// outlives the build; a bind mount is a copy of a path of the context or of a stage (so `rw`
// writes are thrown away and nothing of the store is exposed), its content part of the step's
// cache key; a secret is a file made for the step alone and never part of a layer, the history or
// the cache key. Sources box makes here live under its storage root and are removed after the step.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError, errnoCode } from '../errors';
import { Lock, lockFile, tryLockFile } from '../image/locks';
import { LayerUnpacker } from '../image/unpack';
import { LOCK_SH, O_NOFOLLOW, O_NONBLOCK, O_RDONLY } from '../linux/syscalls';
import { layout, Roots } from '../paths';
import { LayerStack } from '../runtime/diff';
import { mkdirp } from '../util/fs';
import { ownedName, ownerAlive, ownerOf } from '../util/owner';
import { parseBytes } from '../util/units';
import { checkTarget, MountRequest } from '../volume/mount-flags';
import { sha256 } from './cache';
import { copyEntries, entriesDigest, SourceTree } from './copy';
import { LayerEntry, writeLayerTar } from './layer-tar';

export type Sharing = 'shared' | 'private' | 'locked';

interface Owned {
  mode: number;
  uid: number;
  gid: number;
}

export type RunMount =
  | ({
      type: 'cache';
      target: string;
      id: string;
      sharing: Sharing;
      from?: string;
      source: string;
      readOnly: boolean;
    } & Owned)
  | { type: 'bind'; target: string; from?: string; source: string; readOnly: boolean }
  | { type: 'tmpfs'; target: string; size?: number }
  | ({ type: 'secret'; target: string; id: string; required: boolean } & Owned);

/** A secret given to the build (`--secret id=ID,src=PATH` or `id=ID,env=VAR`): read only when a step uses it. */
export interface SecretSource {
  id: string;
  src?: string;
  env?: string;
}

/** BuildKit's limit on a secret's size: secrets are small (keys, tokens), not data. */
const SECRET_MAX = 500 * 1024;

const KEYS: Record<RunMount['type'], string[]> = {
  cache: ['target', 'id', 'sharing', 'from', 'source', 'mode', 'uid', 'gid', 'readonly', 'ro'],
  bind: ['target', 'from', 'source', 'rw', 'readwrite'],
  tmpfs: ['target', 'size'],
  secret: ['target', 'id', 'required', 'mode', 'uid', 'gid'],
};
const ALIASES: Record<string, string> = { dst: 'target', destination: 'target', src: 'source' };

/**
 * The mounts of one RUN (each --mount value, variables already expanded), targets resolved against
 * the working directory. Throws one line naming the bad spec and what to do.
 */
export function parseRunMounts(specs: string[], workdir: string): RunMount[] {
  const mounts = specs.map((raw) => parseRunMount(raw, workdir));
  const seen = new Set<string>();
  // one cache mounted twice by one step would wait for itself (sharing=locked)
  const caches = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target)) throw new BoxError(`RUN --mount: two mounts on ${m.target}: give each its own target`);
    seen.add(m.target);
    if (m.type !== 'cache') continue;
    if (caches.has(m.id)) throw new BoxError(`RUN --mount: the cache ${m.id} is mounted twice: mount it once`);
    caches.add(m.id);
  }
  return mounts;
}

function parseRunMount(raw: string, workdir: string): RunMount {
  const bad = (why: string) => new BoxError(`RUN --mount=${raw}: ${why}`);
  const fields = new Map<string, string | undefined>();
  for (const field of raw.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    fields.set(ALIASES[key] ?? key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = (fields.get('type') ?? 'bind') as RunMount['type'];
  fields.delete('type');
  if (!Object.hasOwn(KEYS, type)) throw bad(`unknown type "${type}": use cache, bind, tmpfs or secret`);
  for (const key of fields.keys())
    if (!KEYS[type].includes(key))
      throw bad(`"${key}" is not an option of type=${type}: it takes ${KEYS[type].join(', ')}`);
  const value = (key: string) => {
    const v = fields.get(key);
    if (v === '' || (v === undefined && fields.has(key))) throw bad(`${key} needs a value: ${key}=...`);
    return v;
  };
  const flag = (key: string) => {
    if (!fields.has(key)) return false;
    const v = fields.get(key);
    if (v === undefined || v === 'true') return true;
    if (v === 'false') return false;
    throw bad(`${key}=${v}: use ${key}=true or ${key}=false`);
  };
  const number = (key: string, dflt: number, radix = 10) => {
    const v = value(key);
    if (v === undefined) return dflt;
    const ok = radix === 8 ? /^[0-7]{1,4}$/.test(v) : /^\d{1,10}$/.test(v);
    if (!ok) throw bad(`${key}=${v}: ${radix === 8 ? 'use an octal mode such as 0755' : 'use a number'}`);
    return parseInt(v, radix);
  };
  const owned = (mode: number): Owned => ({
    mode: number('mode', mode, 8),
    uid: number('uid', 0),
    gid: number('gid', 0),
  });
  const id = value('id');
  let target = value('target');
  if (type === 'secret') target ??= id === undefined ? undefined : `/run/secrets/${id}`;
  if (target === undefined) throw bad('target is required: add target=/path');
  target = insideRoot(target, workdir, (why) => bad(`target ${target}: ${why}`));
  // the checks of box run's mounts: not / and not /proc, which box mounts itself with its masked paths
  target = checkTarget(target, raw, (_raw, why) => bad(why));
  switch (type) {
    case 'cache': {
      const sharing = (value('sharing') ?? 'shared') as Sharing;
      if (!['shared', 'private', 'locked'].includes(sharing))
        throw bad(`sharing=${sharing}: use shared, private or locked`);
      const source = relativeSource(value('source') ?? '/', bad);
      return {
        type,
        target,
        id: id ?? target,
        sharing,
        from: value('from'),
        source,
        readOnly: flag('readonly') || flag('ro'),
        ...owned(0o755),
      };
    }
    case 'bind':
      return {
        type,
        target,
        from: value('from'),
        source: relativeSource(value('source') ?? '/', bad),
        readOnly: !flag('rw') && !flag('readwrite'),
      };
    case 'tmpfs': {
      const size = value('size');
      return { type, target, ...(size === undefined ? {} : { size: parseBytes('size', size) }) };
    }
    case 'secret':
      if (id === undefined) throw bad('id is required: add id=NAME, given to box build by --secret id=NAME,src=FILE');
      return { type, target, id, required: flag('required'), ...owned(0o400) };
  }
}

/**
 * An absolute path inside the step's root: relative ones start at the working directory, and a
 * `..` may not climb above the root (BuildKit would quietly stop at it; box says so).
 */
function insideRoot(p: string, workdir: string, fail: (why: string) => BoxError): string {
  const parts: string[] = [];
  for (const seg of (p.startsWith('/') ? p : `${workdir || '/'}/${p}`).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg !== '..') parts.push(seg);
    else if (!parts.pop()) throw fail("it climbs out of the image's root file system with ..: give a path inside it");
  }
  return '/' + parts.join('/');
}

/** A source path in the context or a stage: relative to its root, never climbing out of it. */
function relativeSource(p: string, bad: (why: string) => BoxError): string {
  return insideRoot(p, '/', (why) => bad(`source ${p}: ${why.replace("the image's root file system", 'its root')}`));
}

/** The stage or image names the mounts read (`from=`), which the step's stage waits for. */
export function mountFroms(specs: string[]): string[] {
  return specs.flatMap((raw) => {
    const m = /(?:^|,)from=([^,]+)/.exec(raw);
    return m && !/(?:^|,)type=(tmpfs|secret)(?:,|$)/.test(raw) ? [m[1]] : [];
  });
}

/**
 * Follows `p` in the tree component by component. In the context a symlink may lead elsewhere in
 * it, but not out of it (an absolute target, or one climbing above its root): that is the host's.
 * A stage's or image's symlinks are its own file system's: resolved in its root, as in a
 * container. Returns the path with no symlink in it.
 */
function resolveInTree(tree: SourceTree, p: string, inContext: boolean, hops = 0): string {
  const parts = p.split('/').filter(Boolean);
  for (let k = 0; k < parts.length; k++) {
    const at = '/' + parts.slice(0, k + 1).join('/');
    const found = tree.stack.lookup(at, false);
    if (!found?.stat.isSymbolicLink()) continue;
    const link = tree.stack.readlink(found.layer, found.rel);
    const leadsOut = () =>
      new BoxError(
        `source ${p}: ${at} is a symbolic link to ${link}, which leads out of ${tree.what}: give a path inside it`,
      );
    if (hops >= 40) throw new BoxError(`source ${p}: too many levels of symbolic links`);
    let next: string;
    if (inContext && link.startsWith('/')) throw leadsOut();
    else if (inContext) next = insideRoot(link, path.posix.dirname(at), leadsOut);
    else next = path.posix.resolve(path.posix.dirname(at), link); // `..` stops at the root
    return resolveInTree(tree, path.posix.join(next, ...parts.slice(k + 1)), inContext, hops + 1);
  }
  return '/' + parts.join('/');
}

/**
 * A bind or cache source, listed as the files a COPY of it to /content would write (from the
 * context, owned by root as COPY makes them; from a stage or an image, owned as they are there).
 */
function sourceEntries(tree: SourceTree, source: string, fromContext: boolean): LayerEntry[] {
  const resolved = resolveInTree(tree, source, fromContext);
  if (!tree.stack.lookup(resolved, false))
    throw new BoxError(`source ${source} not found in ${tree.what}: check the path`);
  const empty = new LayerStack([]);
  try {
    const keepOwners = !fromContext;
    return copyEntries(tree, empty, { sources: [resolved], dest: '/content', workdir: '/', keepOwners });
  } finally {
    empty.close();
  }
}

/** Writes entries (from sourceEntries) into an empty directory, by the store's layer unpacker. */
async function materialize(entries: LayerEntry[], dir: string): Promise<void> {
  const pipe = new PassThrough({ highWaterMark: 1 << 20 });
  const writing = writeLayerTar(entries, pipe).then(
    () => pipe.end(),
    (err: Error) => pipe.destroy(err),
  );
  await Promise.all([pipeline(pipe, new LayerUnpacker(dir, { preserveOwner: true })), writing]);
}

/** What a step's mounts need from the build. */
export interface MountContext {
  roots: Roots;
  /** the tree a `from=` names (a stage or an image), or the build context when undefined */
  tree: (from: string | undefined) => SourceTree;
  secrets: Map<string, SecretSource>;
}

/** A step's mounts, planned: their part of the cache key now, their sources only if the step runs. */
export class StepMounts {
  private readonly binds = new Map<RunMount, LayerEntry[]>();
  private readonly trees: SourceTree[] = [];
  private readonly cleanups: (() => void)[] = [];
  /** the part of the step's cache key: the specs, and the content of what binds mount (never a secret) */
  readonly keyText: string;

  constructor(
    private readonly ctx: MountContext,
    readonly mounts: RunMount[],
  ) {
    try {
      const parts = mounts.map((m) => {
        if (m.type !== 'bind') return JSON.stringify(m);
        const tree = this.open(m.from);
        const entries = sourceEntries(tree, m.source, m.from === undefined);
        this.binds.set(m, entries);
        return `${JSON.stringify(m)} ${entriesDigest(entries)}`;
      });
      this.keyText = parts.join('\n');
    } catch (err) {
      this.release();
      throw err;
    }
  }

  private open(from: string | undefined): SourceTree {
    const tree = this.ctx.tree(from);
    this.trees.push(tree);
    return tree;
  }

  /** The step container's mount requests: sources made (copies, cache directories, secrets). */
  async requests(): Promise<MountRequest[]> {
    const out: MountRequest[] = [];
    for (const m of this.mounts) {
      // policies see what the source was made from (src/policy/request.ts), not where box keeps it
      const request = (source: string, readOnly: boolean, buildSource: string): MountRequest => ({
        type: 'bind',
        source,
        target: m.target,
        readOnly,
        origin: 'build',
        buildSource,
        boxOwned: true,
      });
      if (m.type === 'tmpfs') {
        const tmpfsOptions = ['exec', ...(m.size === undefined ? [] : [`size=${m.size}`])].join(',');
        out.push({ type: 'tmpfs', source: '', target: m.target, readOnly: false, origin: 'build', tmpfsOptions });
      } else if (m.type === 'bind') {
        const dir = this.tempDir('.tmp-bind');
        await materialize(this.binds.get(m)!, dir);
        const from = m.from === undefined ? 'context' : `from ${m.from}`;
        out.push(request(path.join(dir, 'content'), m.readOnly, `${from} ${m.source}`));
      } else if (m.type === 'cache') out.push(request(await this.cacheDir(m), m.readOnly, `cache ${m.id}`));
      else {
        const file = this.secretFile(m);
        if (file) out.push(request(file, true, `secret ${m.id}`));
      }
    }
    return out;
  }

  private tempDir(prefix: string): string {
    const dir = path.join(layout.tmp(this.ctx.roots), ownedName(prefix, randomBytes(6).toString('hex')));
    mkdirp(dir);
    this.cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** The cache's directory (made on first use, from `from=` if given), held as its sharing says. */
  private async cacheDir(m: Extract<RunMount, { type: 'cache' }>): Promise<string> {
    const key = sha256(m.id);
    const dir = path.join(cacheMountsDir(this.ctx.roots), key);
    const lockPath = path.join(layout.locks(this.ctx.roots), 'build-cache-mounts', `${key}.lock`);
    let lock: Lock | undefined;
    if (m.sharing === 'private') {
      // in use by another step: this one gets a cache of its own, gone after the step
      lock = tryLockFile(lockPath);
      if (!lock) return this.newCache(m, this.tempDir('.tmp-cache'));
    } else lock = await lockFile(lockPath, m.sharing === 'locked' ? undefined : LOCK_SH);
    this.cleanups.push(() => lock!.release());
    if (!fs.existsSync(dir)) {
      const made = await this.newCache(m, this.tempDir('.tmp-cache'));
      mkdirp(path.dirname(dir));
      try {
        fs.renameSync(made, dir);
      } catch (err) {
        // another build made it meanwhile: theirs is the cache
        if (!['EEXIST', 'ENOTEMPTY'].includes(errnoCode(err) ?? '')) throw err;
      }
    }
    return dir;
  }

  /** A cache's first content in `parent`/content: empty, or what `from=`/`source=` name. */
  private async newCache(m: Extract<RunMount, { type: 'cache' }>, parent: string): Promise<string> {
    const dir = path.join(parent, 'content');
    if (m.from !== undefined) await materialize(sourceEntries(this.open(m.from), m.source, false), parent);
    else fs.mkdirSync(dir);
    fs.chmodSync(dir, m.mode);
    fs.chownSync(dir, m.uid, m.gid);
    return dir;
  }

  /** The secret written to a file of its own (mode, owner), or undefined when it is optional and not given. */
  private secretFile(m: Extract<RunMount, { type: 'secret' }>): string | undefined {
    const given = this.ctx.secrets.get(m.id);
    if (!given) {
      if (!m.required) return undefined;
      throw new BoxError(`RUN --mount=type=secret,id=${m.id}: no such secret: pass --secret id=${m.id},src=FILE`);
    }
    const file = path.join(this.tempDir('.tmp-secret'), 'secret');
    fs.writeFileSync(file, readSecret(given), { mode: 0o600, flag: 'wx' });
    fs.chownSync(file, m.uid, m.gid);
    fs.chmodSync(file, m.mode);
    return file;
  }

  /** Removes what requests() made and lets go of the caches' locks. */
  release(): void {
    for (const undo of this.cleanups.splice(0).reverse()) undo();
    for (const tree of this.trees.splice(0)) tree.stack.close();
  }
}

/** The prefixes of the sources a step's mounts make in the store's tmp/ (tempDir). */
const SOURCE_PREFIXES = ['.tmp-bind-', '.tmp-cache-', '.tmp-secret-'];

/**
 * Removes the mount sources (copies, secrets' files) of builds that died before removing them, so
 * that a killed build's secret does not wait on disk for the next garbage collection.
 */
export function removeDeadMountSources(roots: Roots): void {
  let names: string[];
  try {
    names = fs.readdirSync(layout.tmp(roots));
  } catch {
    return;
  }
  for (const name of names) {
    const owner = ownerOf(name);
    if (!SOURCE_PREFIXES.some((p) => name.startsWith(p)) || owner === undefined || ownerAlive(owner)) continue;
    fs.rmSync(path.join(layout.tmp(roots), name), { recursive: true, force: true });
  }
}

/** Where cache mounts live: under the build cache, removed by `box builder prune`. */
export function cacheMountsDir(roots: Roots): string {
  return path.join(layout.buildCache(roots), 'mounts');
}

/** A secret's bytes: a regular file opened without following a symlink, or an environment variable. */
function readSecret(s: SecretSource): Buffer {
  const what = `--secret id=${s.id}`;
  if (s.env !== undefined) {
    const v = process.env[s.env];
    if (v === undefined) throw new BoxError(`${what},env=${s.env}: ${s.env} is not set: export it first`);
    return Buffer.from(v);
  }
  let fd: number;
  try {
    fd = fs.openSync(s.src!, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ELOOP') throw new BoxError(`${what},src=${s.src}: it is a symbolic link: give the file it points to`);
    throw new BoxError(`${what},src=${s.src}: cannot open it (${code}): give a readable file`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new BoxError(`${what},src=${s.src}: it is a directory: give a file`);
    if (!st.isFile()) throw new BoxError(`${what},src=${s.src}: it is not a regular file: give a file`);
    if (st.size > SECRET_MAX) throw new BoxError(`${what},src=${s.src}: larger than 500 KiB: secrets are small files`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** `--secret id=ID,src=PATH` (also `source=`, `type=file`) or `id=ID,env=VAR`; `id=ID` alone reads $ID. */
export function parseSecretFlag(raw: string): SecretSource {
  const out: Partial<SecretSource> & { type?: string } = {};
  for (const field of raw.split(',')) {
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    const v = field.slice(eq + 1);
    if (eq < 0 || v === '') throw new BoxError(`invalid --secret "${raw}": ${key} needs a value: id=ID,src=FILE`);
    if (key === 'id') out.id = v;
    else if (key === 'src' || key === 'source') out.src = v;
    else if (key === 'env') out.env = v;
    else if (key === 'type' && (v === 'file' || v === 'env')) out.type = v;
    else throw new BoxError(`invalid --secret "${raw}": unknown field ${key}: use id=ID,src=FILE or id=ID,env=VAR`);
  }
  if (!out.id) throw new BoxError(`invalid --secret "${raw}": id is required: id=ID,src=FILE`);
  if (out.src !== undefined && out.env !== undefined)
    throw new BoxError(`invalid --secret "${raw}": give src= or env=, not both`);
  if (out.src === undefined && out.env === undefined) {
    if (out.type === 'file') out.src = out.id;
    else out.env = out.id;
  }
  return { id: out.id, ...(out.src !== undefined ? { src: path.resolve(out.src) } : { env: out.env }) };
}
