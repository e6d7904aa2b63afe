// The client side of a detached container's attach socket (native/PROTOCOL.md "Attaching to a
// detached container"): the monitor of a container created with -t or -i listens on it; box attach
// and start -a/-i connect the user's terminal (or pipes) to the container's pty or stdin there.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { libc } from '../linux/ffi';
import { Roots } from '../paths';
import { runtimeDir } from './monitor-state';

/** How long the monitor of `start -a` waits for box to connect before it starts the container. */
export const ATTACH_WAIT_MS = 10_000;

const enum Frame {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  Resize = 3,
  CloseStdin = 4,
}

/** Docker's default detach sequence: Ctrl-P Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = [0x10, 0x11];

export function attachSocketPath(roots: Roots, id: string): string {
  return path.join(runtimeDir(roots, id), 'attach');
}

function frame(type: Frame, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

const SUN_PATH_MAX = 107;

/** Connects to the socket; a path longer than sun_path is reached through an fd of its directory. */
export function connectAttach(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let dirFd: number | undefined;
    let target = socketPath;
    if (Buffer.byteLength(socketPath) > SUN_PATH_MAX) {
      dirFd = fs.openSync(path.dirname(socketPath), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      target = `/proc/self/fd/${dirFd}/${path.basename(socketPath)}`;
    }
    const closeDir = () => {
      if (dirFd !== undefined) fs.closeSync(dirFd);
      dirFd = undefined;
    };
    // loaded here, not with this module: a detached start without attach never needs net
    const s = (require('node:net') as typeof import('node:net')).createConnection(target);
    s.once('connect', () => {
      closeDir();
      resolve(s);
    });
    s.once('error', (err) => {
      closeDir();
      reject(err);
    });
  });
}

/** `--detach-keys`: Docker's format, e.g. "ctrl-p,ctrl-q" or "ctrl-a,x". */
export function parseDetachKeys(spec: string): number[] {
  const keys = spec.split(',').map((k) => {
    const m = /^ctrl-(.)$/i.exec(k);
    if (m) {
      const c = m[1].toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 0x60;
      const punct = '@[\\]^_'.indexOf(c);
      if (punct >= 0) return punct === 0 ? 0 : 0x1b + punct - 1;
    } else if (k.length === 1) {
      return k.charCodeAt(0);
    }
    throw new BoxError(
      `invalid --detach-keys "${spec}": use keys like ctrl-p,ctrl-q (ctrl- with a-z, @, [, \\, ], ^ or _, or single characters)`,
    );
  });
  return keys;
}

/**
 * Node's raw mode keeps output processing (ONLCR): the container's own terminal already turned
 * "\n" into "\r\n", and a bare "\n" a full-screen program sends to move down must stay one.
 * Clears OPOST as cfmakeraw does; Node restores the whole terminal state when raw mode ends.
 */
function rawOutput(fd: number): void {
  try {
    const lib = libc();
    const tcgetattr = lib.func('int tcgetattr(int fd, _Out_ void *t)') as (fd: number, t: Buffer) => number;
    const tcsetattr = lib.func('int tcsetattr(int fd, int act, const void *t)') as (
      fd: number,
      act: number,
      t: Buffer,
    ) => number;
    const t = Buffer.alloc(64); // glibc's struct termios is 60 bytes; c_oflag at offset 4
    if (tcgetattr(fd, t) !== 0) return;
    t.writeUInt32LE(t.readUInt32LE(4) & ~1, 4); // OPOST
    tcsetattr(fd, 0, t); // TCSANOW
  } catch {
    /* output stays processed: line ends show as \r\r\n, which a terminal displays the same */
  }
}

export interface AttachOptions {
  /** the container has a terminal: raw mode, window sizes, detach keys */
  tty: boolean;
  /** send box's standard input to the container */
  stdin: boolean;
  /** end the container's input when box's ends (Docker's StdinOnce); never with a tty */
  closeStdin: boolean;
  detachKeys: number[];
  /** signals box receives while attached without a terminal (Docker's sig-proxy) */
  onSignal?: (sig: NodeJS.Signals) => void;
}

/** Docker's detach sequence on the input: held back while it matches, sent on if it does not. */
export class DetachFilter {
  private held = 0;
  constructor(private readonly keys: number[]) {}

  /** The bytes to send, and whether the sequence was completed (bytes after it are dropped). */
  push(data: Buffer): { out: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of data) {
      if (b === this.keys[this.held]) {
        if (++this.held === this.keys.length) return { out: Buffer.from(out), detach: true };
        continue;
      }
      out.push(...this.keys.slice(0, this.held));
      this.held = 0;
      if (b === this.keys[0]) {
        if (this.keys.length === 1) return { out: Buffer.from(out), detach: true };
        this.held = 1;
      } else out.push(b);
    }
    return { out: Buffer.from(out), detach: false };
  }
}

/**
 * Connects box's stdio to the container through the socket until the container is gone (the
 * monitor closes the socket: 'ended') or the user typed the detach keys ('detached').
 */
export function attachSession(sock: net.Socket, opts: AttachOptions): Promise<'ended' | 'detached'> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    const raw = opts.tty && opts.stdin && stdin.isTTY;
    const filter = opts.tty && opts.stdin && opts.detachKeys.length ? new DetachFilter(opts.detachKeys) : undefined;
    let finished = false;
    let pending: Buffer = Buffer.alloc(0);

    const sendSize = () => {
      const { rows, columns } = process.stdout;
      if (rows && columns) {
        const b = Buffer.alloc(4);
        b.writeUInt16BE(rows, 0);
        b.writeUInt16BE(columns, 2);
        sock.write(frame(Frame.Resize, b));
      }
    };
    const onInput = (data: Buffer) => {
      const { out, detach } = filter ? filter.push(data) : { out: data, detach: false };
      if (out.length) sock.write(frame(Frame.Stdin, out));
      if (detach) finish('detached');
    };
    const onInputEnd = () => {
      if (opts.closeStdin && !opts.tty) sock.write(frame(Frame.CloseStdin));
    };
    const onSignal = (sig: NodeJS.Signals) => opts.onSignal?.(sig);
    const signals: NodeJS.Signals[] = opts.tty ? [] : ['SIGINT', 'SIGTERM'];

    const finish = (how: 'ended' | 'detached') => {
      if (finished) return;
      finished = true;
      if (opts.stdin) {
        stdin.off('data', onInput);
        stdin.off('end', onInputEnd);
        stdin.pause();
      }
      if (raw) stdin.setRawMode(false);
      if (opts.tty) process.stdout.off('resize', sendSize);
      for (const s of signals) process.off(s, onSignal);
      if (how === 'detached') sock.end();
      else sock.destroy();
      resolve(how);
    };

    // Output: frames of the container's stdout/stderr; box's own output is the flow control.
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 8) {
        const len = pending.readUInt32BE(4);
        if (pending.length < 8 + len) break;
        const type = pending[0];
        const payload = pending.subarray(8, 8 + len);
        pending = pending.subarray(8 + len);
        const target = type === Frame.Stderr ? process.stderr : type === Frame.Stdout ? process.stdout : undefined;
        if (target && !target.write(payload)) {
          sock.pause();
          target.once('drain', () => sock.resume());
        }
      }
    });
    sock.on('close', () => finish('ended'));
    sock.on('error', () => finish('ended'));

    for (const s of signals) process.on(s, onSignal);
    if (opts.tty) {
      sendSize();
      process.stdout.on('resize', sendSize);
    }
    if (opts.stdin) {
      if (raw) {
        stdin.setRawMode(true);
        rawOutput(0);
      }
      stdin.on('data', onInput);
      stdin.on('end', onInputEnd);
      stdin.resume();
    }
  });
}
