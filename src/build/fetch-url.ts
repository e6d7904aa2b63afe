// ADD of a URL: the file is downloaded (http or https, redirects followed, certificates verified)
// into a temporary directory, which ADD then copies from as from any tree, so Docker's
// destination rules apply. As BuildKit: the file is named after the URL path's last segment
// (`__unnamed__` when it has none), is 0600 unless --chmod, its mtime is the Last-Modified header
// (else the epoch), it is never unpacked, and `--checksum=sha256:HEX` must match its content.
// The content is part of the step's cache key (it is read like any copied file), so the file is
// fetched on every build and a changed file reruns the step. Git repositories are refused.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError } from '../errors';
import { discard, httpRequest, HttpResponse } from '../image/registry/http';

/** Whether an ADD source is a URL (any scheme: the ones box cannot fetch are refused by name). */
export const isUrlSource = (source: string): boolean =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@[^:]+:/.test(source);

/** Whether an ADD source names a git repository (Docker clones those), by Docker's signs. */
export function isGitSource(source: string): boolean {
  if (/^(git|ssh|git\+ssh):\/\//i.test(source) || /^git@[^:]+:/.test(source)) return true;
  if (!/^https?:\/\//i.test(source)) return false;
  // `https://host/repo.git`, `https://host/repo.git#ref:subdir`
  return source.split('#')[0].split('?')[0].endsWith('.git');
}

/** The file name a downloaded URL gets: the last segment of its path, as BuildKit names it. */
export function urlFileName(url: URL): string {
  let base = '';
  try {
    base = path.posix.basename(decodeURIComponent(url.pathname));
  } catch {
    base = path.posix.basename(url.pathname); // a malformed escape: the name as written
  }
  return base === '' || base === '.' || base === '..' || base.includes('\0') ? '__unnamed__' : base;
}

/** A parsed `--checksum=sha256:HEX`. */
export function parseChecksum(flag: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(flag);
  if (!m) throw new BoxError(`--checksum=${flag}: expected sha256: and 64 hex digits (the file's sha256sum)`);
  return m[1];
}

export interface FetchOptions {
  /** the expected sha256 of the content, in hex */
  sha256?: string;
  /** fail when the server stays silent this long */
  idleTimeoutMs?: number;
}

/**
 * Downloads `source` into `dir` (an empty directory of the build's own), under the name Docker
 * gives it; returns that name.
 */
export async function fetchUrl(source: string, dir: string, opts: FetchOptions = {}): Promise<string> {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new BoxError(`ADD ${source}: not a valid URL: check it`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BoxError(`ADD ${source}: box build fetches http and https URLs only: fetch it with RUN`);
  const shown = `${url.origin}${url.pathname}`; // no credentials or query in messages
  const name = urlFileName(url);
  const file = path.join(dir, name);
  let res: HttpResponse;
  try {
    res = await httpRequest(url, { idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, maxRedirects: 10 });
  } catch (err) {
    throw new BoxError(`ADD ${shown}: cannot fetch it (${(err as Error).message}): check the URL and the network`);
  }
  if (res.status < 200 || res.status > 299) {
    discard(res);
    throw new BoxError(
      `ADD ${shown}: the server answered ${res.status} ${res.body.statusMessage ?? ''}`.trimEnd() + ': check the URL',
    );
  }
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  try {
    const fd = fs.openSync(file, flags, 0o600);
    await pipeline(res.body, hashing, fs.createWriteStream('', { fd }));
  } catch (err) {
    throw new BoxError(`ADD ${shown}: the download failed (${(err as Error).message}): try again`);
  }
  const digest = hash.digest('hex');
  if (opts.sha256 !== undefined && digest !== opts.sha256)
    throw new BoxError(
      `ADD ${shown}: the content's checksum is sha256:${digest}, not the sha256:${opts.sha256} --checksum asks for`,
    );
  fs.chmodSync(file, 0o600); // whatever the umask took away or added
  const lastModified = res.headers['last-modified'];
  const parsed = lastModified ? Date.parse(lastModified) : Number.NaN;
  const mtime = Number.isNaN(parsed) ? 0 : parsed / 1000;
  fs.utimesSync(file, mtime, mtime);
  return name;
}

/**
 * Downloads the URL sources of an ADD, each into its own directory under `dir` (two URLs may
 * give one name); returns their paths in `dir` for the copy. `checksum` is ADD's --checksum.
 */
export async function fetchUrlSources(sources: string[], dir: string, checksum?: string): Promise<string[]> {
  const git = sources.find(isGitSource);
  if (git) throw new BoxError(`ADD ${git}: git repositories are not supported by box build: clone it in a RUN step`);
  const local = sources.find((s) => !isUrlSource(s));
  if (local !== undefined) throw new BoxError(`ADD "${local}" with a URL: give the local files their own ADD or COPY`);
  if (checksum !== undefined && sources.length !== 1)
    throw new BoxError(`--checksum=${checksum} checks one URL: give each URL its own ADD`);
  const sha256 = checksum === undefined ? undefined : parseChecksum(checksum);
  const paths: string[] = [];
  for (const [i, source] of sources.entries()) {
    fs.mkdirSync(path.join(dir, String(i)), 0o700);
    paths.push(`/${i}/${await fetchUrl(source, path.join(dir, String(i)), { sha256 })}`);
  }
  return paths;
}
