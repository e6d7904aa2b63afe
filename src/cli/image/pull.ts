// `box pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [-q] REF`: the command body, for
// the CLI table to call. On a terminal, one progress line per layer (bytes, total, speed),
// redrawn in place; otherwise plain lines as events happen; -q prints only the image id.
import { BoxError } from '../../errors';
import { findCredentials } from '../../image/registry/credentials';
import { PullEvent, pullImage } from '../../image/registry/pull';
import { parseRemoteRef } from '../../image/registry/reference';
import { ImageStore } from '../../image/store';
import { Roots } from '../../paths';
import { CommandSpec, bool, str } from '../args';
import { roots } from '../context';
import { parseTlsVerify, TLS_FLAG } from '../../image/registry/tls-flag';

export interface PullCommandOptions {
  quiet?: boolean;
  /** --tls-verify=false: http or unverified https */
  tlsVerify?: boolean;
  platform?: string;
  /** credentials file (Docker config.json format); default: credentialsFile() */
  authFile?: string;
  out?: NodeJS.WriteStream;
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

function size(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)}${units[i]}`;
}

/** Plain lines: one per state change of a layer. */
function plainReporter(out: NodeJS.WritableStream): (e: PullEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'resolved':
        out.write(`Pulling ${e.ref} (${e.platform}, ${e.layers.length} layer${e.layers.length === 1 ? '' : 's'})\n`);
        break;
      case 'layer-exists':
        out.write(`${short(e.digest)}: Already exists\n`);
        break;
      case 'layer-start':
        out.write(`${short(e.digest)}: Downloading ${size(e.size)}\n`);
        break;
      case 'layer-done':
        out.write(`${short(e.digest)}: Pull complete\n`);
        break;
      case 'done':
        out.write(`Digest: ${e.digest}\n`);
        break;
    }
  };
}

/** A terminal: the layer lines are redrawn in place, at most ten times a second. */
function ttyReporter(out: NodeJS.WriteStream): { onEvent: (e: PullEvent) => void; finish: () => void } {
  const order: string[] = [];
  const state = new Map<string, { status: string; bytes: number; size: number; started?: number }>();
  let drawn = 0;
  let last = 0;
  let header = '';
  const width = () => Math.max(40, (out.columns || 80) - 1);
  const line = (d: string): string => {
    const s = state.get(d)!;
    if (s.status !== 'Downloading') return `${short(d)}: ${s.status}`;
    const frac = s.size ? Math.min(1, s.bytes / s.size) : 0;
    const secs = s.started ? (Date.now() - s.started) / 1000 : 0;
    const speed = secs > 0.2 ? ` ${size(Math.round(s.bytes / secs))}/s` : '';
    const bar = '='.repeat(Math.floor(frac * 30)).padEnd(30, ' ');
    return `${short(d)}: Downloading [${bar.slice(0, 29)}${frac >= 1 ? '=' : '>'}] ${size(s.bytes)}/${size(s.size)}${speed}`;
  };
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    let text = drawn ? `\x1b[${drawn}A` : '';
    const lines = [header, ...order.map(line)];
    for (const l of lines) text += `\r\x1b[2K${l.slice(0, width())}\n`;
    drawn = lines.length;
    out.write(text);
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'resolved':
          header = `Pulling ${e.ref} (${e.platform})`;
          for (const l of e.layers) {
            if (!state.has(l.digest)) order.push(l.digest);
            state.set(l.digest, { status: 'Waiting', bytes: 0, size: l.size });
          }
          break;
        case 'layer-exists':
          state.get(e.digest)!.status = 'Already exists';
          break;
        case 'layer-start':
          Object.assign(state.get(e.digest)!, { status: 'Downloading', started: Date.now() });
          break;
        case 'layer-progress':
          state.get(e.digest)!.bytes = e.bytes;
          return draw();
        case 'layer-done':
          state.get(e.digest)!.status = 'Pull complete';
          break;
        case 'done':
          draw(true);
          out.write(`Digest: ${e.digest}\n`);
          return;
        default:
          return;
      }
      draw(true);
    },
    finish() {
      if (drawn) draw(true);
    },
  };
}

/**
 * Runs `box pull`; returns the exit status. Errors are thrown as BoxError (the CLI prints them).
 * Ctrl-C stops the downloads and removes their work directories before exiting with 130.
 */
export async function pullCommand(roots: Roots, ref: string, opts: PullCommandOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const remote = parseRemoteRef(ref);
  const store = new ImageStore(roots);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  const tty = !opts.quiet && out.isTTY ? ttyReporter(out) : undefined;
  const onEvent = opts.quiet ? undefined : tty ? tty.onEvent : plainReporter(out);
  try {
    const id = await pullImage(store, remote, {
      tlsVerify: opts.tlsVerify,
      platform: opts.platform,
      credentials: findCredentials(remote.registry, opts.authFile),
      onEvent,
      signal: abort.signal,
    });
    if (opts.quiet) out.write(id + '\n');
    else
      out.write(
        `Status: image ${id.slice(7, 19)} for ${remote.localName}${remote.tag ? `:${remote.tag}` : ''}${remote.digest ? `@${remote.digest}` : ''}\n`,
      );
    return 0;
  } catch (err) {
    tty?.finish();
    if (abort.signal.aborted) {
      process.stderr.write('box pull: interrupted; nothing was tagged, completed layers are kept for the next pull\n');
      return 130;
    }
    throw err instanceof BoxError ? err : new BoxError(`pull ${ref}: ${(err as Error).message}`);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export const pullCommandSpec: CommandSpec = {
  paths: [['pull'], ['image', 'pull']],
  summary: 'Pull an image from a registry (OCI distribution API v2).',
  flags: [
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'print only the image id' },
    {
      names: ['--platform'],
      key: 'platform',
      kind: 'string',
      value: 'os/arch[/variant]',
      description: 'platform to pick from a multi-platform image (default: this machine)',
    },
    TLS_FLAG,
  ],
  positionals: [{ name: 'NAME[:TAG|@DIGEST]' }],
  examples: ['box pull localhost:5000/team/app:1.0', 'box pull -q --tls-verify=false registry.local:5000/app'],
  async run(a) {
    return pullCommand(roots(), a.positionals[0], {
      quiet: bool(a, 'quiet'),
      platform: str(a, 'platform'),
      tlsVerify: parseTlsVerify(str(a, 'tlsVerify')),
    });
  },
};
