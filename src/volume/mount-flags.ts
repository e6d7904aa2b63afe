// Parsing -v, --mount and --tmpfs with Docker's syntax and errors, before the image is looked up:
// each gives a mount request whose host side (a bind source, a volume) is resolved later
// (src/volume/attach.ts). Pure: nothing here touches the host.
import * as path from 'node:path';
import { BoxError } from '../errors';
import type { MountConfig, Propagation } from '../model';
import { VOLUME_NAME_RE } from '../paths';
import { parseBytes } from '../util/units';

/** A mount as the flags ask for it: an anonymous volume has an empty source. */
export interface MountRequest extends MountConfig {
  /** volume-opt= of --mount: the local driver's options for a volume it creates */
  volumeOptions?: Record<string, string>;
  /** a bind source that may be created if missing (-v does, --mount does not) */
  createSource?: boolean;
  /** --volumes-from: the container whose mount this is (it must still exist once the use is registered) */
  fromContainer?: string;
  /**
   * A bind source box made itself under its storage root for a build step (a cache mount, a copy
   * of a context or stage path, a secret's file): not refused as box's own store. Never from flags.
   */
  boxOwned?: boolean;
}

const PROPAGATIONS: readonly Propagation[] = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

function badSpec(raw: string, why: string): BoxError {
  return new BoxError(`invalid volume specification: '${raw}': ${why}`);
}

/** A mount's target, normalized; refused when it is / or inside /proc (build steps' mounts too). */
export function checkTarget(target: string, raw: string, fail: (raw: string, why: string) => BoxError): string {
  if (!path.isAbsolute(target)) throw fail(raw, `invalid mount path: '${target}' mount path must be absolute`);
  const clean = path.posix.normalize(target).replace(/(.)\/$/, '$1');
  if (clean === '/') throw fail(raw, "invalid specification: destination can't be '/'");
  // box mounts /proc itself, with Docker's masked and read-only paths: nothing may cover them
  if (clean === '/proc' || clean.startsWith('/proc/')) {
    throw fail(raw, `${clean} is inside /proc, which box mounts itself (with its masked paths): mount elsewhere`);
  }
  return clean;
}

const isMode = (m: string) => m.split(',').every((p) => MODE_WORDS.has(p));
const MODE_WORDS = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS]);

/** `-v [SOURCE:]TARGET[:MODE]`: SOURCE an absolute host path (a bind) or a volume name; none: anonymous. */
export function parseVolumeFlag(raw: string): MountRequest {
  const parts = raw.split(':');
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0];
  else if (parts.length === 2 && isMode(parts[1])) [target, mode] = parts;
  else if (parts.length === 2) [source, target] = parts;
  else if (parts.length === 3) [source, target, mode] = parts;
  else throw badSpec(raw, 'use [SOURCE:]TARGET[:MODE]');
  if (!target) throw badSpec(raw, 'the mount path inside the container is empty');
  // Docker's CLI (23+) takes a source of ".", "./x" or "../x" as a path relative to the current directory
  if (source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../')) {
    source = path.resolve(source);
  }
  const bind = path.isAbsolute(source);
  if (source && !bind && !VOLUME_NAME_RE.test(source)) {
    throw badSpec(raw, `"${source}" is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
  }
  const m: MountRequest = {
    type: bind ? 'bind' : 'volume',
    source: bind ? path.normalize(source) : source,
    target: checkTarget(target, raw, badSpec),
    readOnly: false,
    origin: 'v',
    spec: raw,
  };
  if (bind) m.createSource = true;
  else if (!source) m.anonymous = true;
  applyModes(m, mode, raw);
  return m;
}

function applyModes(m: MountRequest, mode: string, raw: string): void {
  if (!mode) return;
  const seen = new Set<string>();
  for (const word of mode.split(',')) {
    if (!MODE_WORDS.has(word))
      throw new BoxError(`invalid mode: ${word} (in '${raw}'): use ro, rw, nocopy or a propagation`);
    const kind = word === 'ro' || word === 'rw' ? 'rw' : (PROPAGATIONS as string[]).includes(word) ? 'prop' : word;
    if (seen.has(kind)) throw new BoxError(`invalid mode: ${mode} (in '${raw}'): ${kind} given twice`);
    seen.add(kind);
    if (word === 'ro') m.readOnly = true;
    else if (word === 'nocopy') {
      if (m.type !== 'volume') throw new BoxError(`invalid mode: nocopy (in '${raw}'): nocopy is for volumes only`);
      m.noCopy = true;
    } else if (kind === 'prop') m.propagation = word as Propagation;
    // rw is the default; z and Z (SELinux relabelling) do nothing on a host without SELinux
  }
}

function badMount(raw: string, why: string): BoxError {
  return new BoxError(`invalid argument "${raw}" for "--mount" flag: ${why}`);
}

/** Splits --mount's CSV (a field may be quoted: "volume-opt=o=size=1m,uid=1000"). */
function csvFields(raw: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of raw) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw badMount(raw, 'unterminated quote');
  out.push(cur);
  return out;
}

function boolValue(raw: string, key: string, value: string | undefined): boolean {
  if (value === undefined || value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw badMount(raw, `invalid value for ${key}: ${value} (use true or false)`);
}

/** `--mount type=bind|volume|tmpfs,source=,target=,readonly,...` */
export function parseMountFlag(raw: string): MountRequest {
  const m: MountRequest = { type: 'volume', source: '', target: '', readOnly: false, origin: 'mount' };
  const typeField = csvFields(raw).find((f) => f.startsWith('type='));
  if (typeField) {
    const type = typeField.slice(5);
    if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs')
      throw badMount(raw, `invalid type "${type}": use bind, volume or tmpfs`);
    m.type = type;
  }
  const only = (key: string, type: MountConfig['type']) => {
    if (m.type !== type) throw badMount(raw, `cannot mix '${key}' options with type '${m.type}'`);
  };
  let size: number | undefined;
  let tmpfsMode: string | undefined;
  for (const field of csvFields(raw)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = () => {
      if (value === undefined) throw badMount(raw, `invalid field '${field}' must be a key=value pair`);
      return value;
    };
    switch (key) {
      case 'type':
        break;
      case 'source':
      case 'src':
        m.source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.target = need();
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = boolValue(raw, key, value);
        break;
      case 'bind-propagation':
        only(key, 'bind');
        if (!(PROPAGATIONS as string[]).includes(need())) throw badMount(raw, `invalid propagation mode: ${value}`);
        m.propagation = value as Propagation;
        break;
      case 'bind-nonrecursive':
        only(key, 'bind');
        m.nonRecursive = boolValue(raw, key, value);
        break;
      case 'volume-nocopy':
        only(key, 'volume');
        m.noCopy = boolValue(raw, key, value);
        break;
      case 'volume-opt': {
        only(key, 'volume');
        const opt = need();
        const i = opt.indexOf('=');
        if (i <= 0) throw badMount(raw, `invalid volume-opt '${opt}': use volume-opt=KEY=VALUE`);
        m.volumeOptions = { ...m.volumeOptions, [opt.slice(0, i)]: opt.slice(i + 1) };
        break;
      }
      case 'volume-driver':
        only(key, 'volume');
        if (need() !== 'local')
          throw badMount(raw, `volume driver "${value}" is not supported: box has the local driver only`);
        break;
      case 'tmpfs-size':
        only(key, 'tmpfs');
        size = parseBytes('tmpfs-size', need());
        break;
      case 'tmpfs-mode':
        only(key, 'tmpfs');
        if (!/^[0-7]{1,4}$/.test(need()))
          throw badMount(raw, `invalid tmpfs-mode ${value}: use octal digits like 1777`);
        tmpfsMode = value;
        break;
      case 'consistency':
        break; // a macOS file-sharing hint: nothing to do on Linux
      default:
        throw badMount(raw, `unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.target) throw badMount(raw, 'target is required');
  m.target = checkTarget(m.target, raw, badMount);
  if (m.type === 'bind') {
    if (!m.source) throw badMount(raw, 'invalid mount config for type "bind": field Source must not be empty');
    if (!path.isAbsolute(m.source))
      throw badMount(
        raw,
        `invalid mount config for type "bind": invalid mount path: '${m.source}' mount path must be absolute`,
      );
    m.source = path.normalize(m.source);
  } else if (m.type === 'volume') {
    if (m.source && !VOLUME_NAME_RE.test(m.source)) throw badMount(raw, `invalid volume name "${m.source}"`);
    if (!m.source) m.anonymous = true;
  } else {
    if (m.source) throw badMount(raw, 'invalid mount config for type "tmpfs": field Source must not be specified');
    const opts = [size !== undefined ? `size=${size}` : '', tmpfsMode !== undefined ? `mode=${tmpfsMode}` : ''];
    m.tmpfsOptions = opts.filter(Boolean).join(',');
  }
  return m;
}

// Mount options --tmpfs takes that are flags, not data for tmpfs.
const TMPFS_FLAGS: Record<string, [number, boolean]> = {
  ro: [0x1, true],
  rw: [0x1, false],
  nosuid: [0x2, true],
  suid: [0x2, false],
  nodev: [0x4, true],
  dev: [0x4, false],
  noexec: [0x8, true],
  exec: [0x8, false],
  noatime: [0x400, true],
  atime: [0x400, false],
  strictatime: [0x1000000, true],
  relatime: [0x200000, true],
};
const TMPFS_DATA = /^(size|mode|uid|gid|nr_inodes|nr_blocks|huge|mpol)=/;

/**
 * The mount flags (MS_*) and data of a tmpfs with these options (Docker's defaults: noexec,
 * nosuid, nodev, which the options may turn off); throws naming a bad option.
 */
export function tmpfsMountArgs(options: string, what: string): { flags: number; data: string } {
  let flags = 0x2 | 0x4 | 0x8;
  const data: string[] = [];
  for (const opt of options.split(',').filter(Boolean)) {
    const flag = TMPFS_FLAGS[opt];
    if (flag) flags = flag[1] ? flags | flag[0] : flags & ~flag[0];
    else if (TMPFS_DATA.test(opt)) {
      if (opt.startsWith('size=') && !/^size=\d+[kmg%]?$/i.test(opt)) {
        throw new BoxError(`invalid tmpfs option "${opt}" in ${what}: use size=BYTES with k, m, g or %`);
      }
      if (opt.startsWith('mode=') && !/^mode=[0-7]{1,4}$/.test(opt)) {
        throw new BoxError(`invalid tmpfs option "${opt}" in ${what}: use mode=OCTAL`);
      }
      data.push(opt);
    } else throw new BoxError(`invalid tmpfs option "${opt}" in ${what}: use size=, mode=, uid=, gid=, ro, exec, ...`);
  }
  return { flags, data: data.join(',') };
}

/** `--tmpfs /path[:OPTIONS]` */
export function parseTmpfsFlag(raw: string): MountRequest {
  const colon = raw.indexOf(':');
  const target = colon < 0 ? raw : raw.slice(0, colon);
  const options = colon < 0 ? '' : raw.slice(colon + 1);
  const fail = (r: string, why: string) => new BoxError(`invalid --tmpfs '${r}': ${why}`);
  const m: MountRequest = {
    type: 'tmpfs',
    source: '',
    target: checkTarget(target, raw, fail),
    readOnly: options.split(',').includes('ro'),
    origin: 'tmpfs',
    tmpfsOptions: options,
  };
  tmpfsMountArgs(options, `--tmpfs ${raw}`);
  return m;
}

/** `--volumes-from CONTAINER[:ro|rw]` */
export function parseVolumesFrom(raw: string): { container: string; mode?: 'ro' | 'rw' } {
  const [container, mode, extra] = raw.split(':');
  if (!container || extra !== undefined || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new BoxError(`invalid --volumes-from '${raw}': use CONTAINER[:ro|rw]`);
  }
  return { container, mode: mode as 'ro' | 'rw' | undefined };
}

/** Every flag's mounts, checked together: one mount per target (Docker's "Duplicate mount point"). */
export function parseMountFlags(flags: { volume: string[]; mount: string[]; tmpfs: string[] }): MountRequest[] {
  const mounts = [
    ...flags.volume.map(parseVolumeFlag),
    ...flags.mount.map(parseMountFlag),
    ...flags.tmpfs.map(parseTmpfsFlag),
  ];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target)) throw new BoxError(`Duplicate mount point: ${m.target}: give one mount per path`);
    seen.add(m.target);
  }
  return mounts;
}
