// A layer's tar stream, reproducible byte for byte from its unpacked directory. While a layer is
// unpacked, everything in its tar stream except regular files' contents (headers, PAX records,
// padding, the end marker) is recorded in layers/<hex>/tar-split.gz, with a reference to the
// file each content went to; reassembling interleaves those bytes with the files read back from
// the layer's diff directory. So `box save` and `box push` give out exactly the tar whose sha256
// is the diff_id in the image config, and the image keeps its id (Docker keeps tar-split data for
// the same reason).
//
// Format: gzip members, concatenated (each a piece of at most ~1 MiB of records, so recording
// never holds more than that in memory), decoding to records:
//   'R' u32be LEN, LEN raw bytes                    — copied as they are
//   'F' u32be LEN, LEN bytes of path, u64be SIZE    — SIZE bytes of content from diff/<path>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createGunzip, gzipSync } from 'node:zlib';
import { BoxError } from '../errors';
import {
  O_NOFOLLOW,
  O_RDONLY,
  openat2,
  O_DIRECTORY,
  O_PATH,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
} from '../linux/syscalls';
import { TarEntry, TarSink } from './tar-reader';
import { openNoFollow } from '../util/safe-open';
import { normaliseEntryPath } from './tar-entry-path';

export const TAR_SPLIT_FILE = 'tar-split.gz';
const FLUSH_AT = 1 << 20;

/**
 * Records a layer's tar stream (a TarSink fed alongside the unpacking one) into `file`. Records
 * are built in one reused 1 MiB buffer, compressed as a gzip member whenever it fills: no
 * allocation per entry, however many small files the layer has.
 */
export class TarSplitRecorder implements TarSink {
  private fd: number;
  private readonly buf = Buffer.allocUnsafe(FLUSH_AT);
  private len = 0;
  /** offset in buf of the open 'R' record's header, or -1 */
  private rawStart = -1;
  /** the current entry's data is in the layer directory (not copied here) */
  private external = false;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  }

  raw(bytes: Buffer): void {
    let off = 0;
    while (off < bytes.length) {
      if (this.rawStart < 0) {
        if (this.buf.length - this.len < 6) this.flush();
        this.rawStart = this.len;
        this.len += 5;
      }
      const n = Math.min(this.buf.length - this.len, bytes.length - off);
      bytes.copy(this.buf, this.len, off, off + n);
      this.len += n;
      off += n;
      if (this.len === this.buf.length) this.flush();
    }
  }

  entry(e: TarEntry): void {
    const rel = normaliseEntryPath(e.path);
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    // Whiteout markers become device nodes or attributes: their (unusual) data stays in the record.
    this.external = e.type === 'file' && e.size > 0 && !base.startsWith('.wh.');
    if (!this.external) return;
    this.closeRaw();
    const p = Buffer.from(rel, 'utf8');
    const need = 1 + 4 + p.length + 8;
    if (this.buf.length - this.len < need) this.flush();
    const rec = need <= this.buf.length ? this.buf.subarray(this.len, this.len + need) : Buffer.allocUnsafe(need);
    rec[0] = 0x46; // 'F'
    rec.writeUInt32BE(p.length, 1);
    p.copy(rec, 5);
    rec.writeBigUInt64BE(BigInt(e.size), 5 + p.length);
    if (need <= this.buf.length) this.len += need;
    else this.writeMember(rec); // a path longer than the buffer: a member of its own
  }

  data(chunk: Buffer): void {
    if (!this.external) this.raw(chunk);
  }

  endEntry(): void {
    this.external = false;
  }

  private closeRaw(): void {
    if (this.rawStart < 0) return;
    this.buf[this.rawStart] = 0x52; // 'R'
    this.buf.writeUInt32BE(this.len - this.rawStart - 5, this.rawStart + 1);
    this.rawStart = -1;
  }

  private flush(): void {
    this.closeRaw();
    if (this.len) this.writeMember(this.buf.subarray(0, this.len));
    this.len = 0;
  }

  private writeMember(records: Buffer): void {
    const gz = gzipSync(records, { level: 1 });
    let off = 0;
    while (off < gz.length) off += fs.writeSync(this.fd, gz, off, gz.length - off);
  }

  /** Writes what is left; the file is complete (the layer's syncfs flushes it before the commit). */
  finish(): void {
    this.flush();
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Closes the file (the caller discards the layer's work directory with it); idempotent. */
  abort(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export class LayerNotReproducibleError extends BoxError {}

const STRICT = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

/** Reads the records of a tar-split file, decompressed, as they come. */
async function* records(file: string): AsyncGenerator<{ raw: Buffer } | { path: string; size: number }> {
  let buf: Buffer = Buffer.alloc(0);
  const gunzip = fs.createReadStream('', { fd: openNoFollow(file, fs.constants.O_RDONLY) }).pipe(createGunzip());
  let need: { kind: number; len: number } | undefined;
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (!need) {
        if (buf.length < 5) break;
        need = { kind: buf[0], len: buf.readUInt32BE(1) };
        buf = buf.subarray(5);
      }
      if (need.kind === 0x52) {
        if (need.len === 0) {
          need = undefined;
          continue;
        }
        if (!buf.length) break;
        // Raw bytes are handed out as they arrive: a record may be larger than one chunk.
        const take = Math.min(need.len, buf.length);
        yield { raw: buf.subarray(0, take) };
        buf = buf.subarray(take);
        need.len -= take;
        if (need.len === 0) need = undefined;
      } else if (need.kind === 0x46) {
        if (buf.length < need.len + 8) break;
        const p = buf.toString('utf8', 0, need.len);
        const size = Number(buf.readBigUInt64BE(need.len));
        buf = buf.subarray(need.len + 8);
        need = undefined;
        yield { path: p, size };
      } else {
        throw new LayerNotReproducibleError(`${file} is damaged (unknown record)`);
      }
    }
  }
  if (need || buf.length) throw new LayerNotReproducibleError(`${file} is truncated`);
}

/** Whether the layer has what reassembly needs (layers stored by older versions of box do not). */
export function hasTarSplit(layerDir: string): boolean {
  return fs.existsSync(path.join(layerDir, TAR_SPLIT_FILE));
}

/**
 * The layer's original tar stream, reassembled from its tar-split record and its diff directory.
 * Fails (LayerNotReproducibleError) unless the bytes have the digest `diffId`: the check runs
 * before the generator completes, so a consumer that stops on error never completes a wrong stream.
 */
export async function* layerTar(layerDir: string, diffId: string, what: string): AsyncGenerator<Buffer> {
  const split = path.join(layerDir, TAR_SPLIT_FILE);
  if (!fs.existsSync(split))
    throw new LayerNotReproducibleError(
      `${what}: the layer was stored by an older box without its tar metadata; pull or load the image again`,
    );
  const hash = createHash('sha256');
  const root = fs.openSync(path.join(layerDir, 'diff'), O_PATH | O_DIRECTORY);
  const chunk = Buffer.allocUnsafe(256 * 1024);
  try {
    for await (const r of records(split)) {
      if ('raw' in r) {
        hash.update(r.raw);
        yield r.raw;
        continue;
      }
      let fd: number;
      try {
        fd = openat2(root, r.path, O_RDONLY | O_NOFOLLOW, 0, STRICT);
      } catch (err) {
        throw new LayerNotReproducibleError(
          `${what}: cannot read "${r.path}" of the layer (${(err as Error).message})`,
        );
      }
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile() || st.size !== r.size)
          throw new LayerNotReproducibleError(
            `${what}: "${r.path}" in the layer is not the file its tar entry describes (a later entry replaced it)`,
          );
        let left = r.size;
        while (left > 0) {
          const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, left), null);
          if (n === 0)
            throw new LayerNotReproducibleError(`${what}: "${r.path}" in the layer is shorter than its tar entry`);
          left -= n;
          const out = Buffer.from(chunk.subarray(0, n));
          hash.update(out);
          yield out;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  } finally {
    fs.closeSync(root);
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== diffId)
    throw new LayerNotReproducibleError(`${what}: the reassembled layer has digest ${got}, not its diff_id ${diffId}`);
}
