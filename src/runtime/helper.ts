// Starts box-helper with a spec, follows its status events (native/PROTOCOL.md) and forwards the
// signals box itself receives, so that `kill -TERM <box>` reaches the container's PID 1. For `run`
// it answers on the control channel: `go` at once, or, with an onInitReady hook, once the hook
// has acted on the waiting init (`abort` when it fails: the helper kills the init, exits 125).
//
// The helper is started with posix_spawn (linux/spawn.ts: no fork of Node) and reaped here
// (linux/reap.ts); its pipes are socket pairs, as child_process would make them. A caller that
// needs no event before the helper's exit (eventsAtExit: a detached start without hook or attach)
// has them read once it exited, without a socket stream: net and Node's stream modules are never
// loaded then (~1.4 ms of CPU and ~0.2 MB of young objects per start, 2026-12-05).
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import { ExitStatus, reapOnExit } from '../linux/reap';
import { sealedExec } from '../linux/sealed-exec';
import { ChildFd, setNonBlocking, spawnDetached } from '../linux/spawn';
import { processToken } from '../util/owner';
import { mark } from '../util/trace';

export interface HelperResult {
  /** exit status of the helper: the container's code, 128+N, or 125/126/127 for a failed start */
  exitCode: number;
  pid?: number;
  started: boolean;
  error?: { stage: string; errno: number; text: string };
  /** set when the helper itself died from a signal (it never does on its own) */
  helperSignal?: NodeJS.Signals;
}

/** Where a container's stdout and stderr go: box's own, nowhere, or a function taking each chunk (build steps). */
export type OutputOption = 'inherit' | 'ignore' | ((chunk: Buffer) => void);

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export interface HelperOptions {
  /** `run` a new container (default) or `exec` in a running one */
  mode?: 'run' | 'exec';
  stdin: 'inherit' | 'ignore';
  /** `ignore` for a detached container: its output goes to the log, never to box's stdio */
  output?: OutputOption;
  onMonitor?: (pid: number) => void;
  /** the container's init was cloned; helperPid: the helper process, the init's parent */
  onPid?: (pid: number, helperPid: number) => void;
  /**
   * `run`: the container's init exists (pid, namespaces, cgroups) and waits; nothing of the
   * command has run. The place to act on it from the host. When it returns (or its promise
   * resolves) the container goes on; when it throws, the start is aborted and runHelper rejects
   * with that error once the helper is gone.
   */
  onInitReady?: (pid: number) => void | Promise<void>;
  onStarted?: () => void;
  /**
   * `detach`: how long the helper may take to say how the start went. Past it the helper is
   * killed, and so is its fork (the monitor) unless the container started: then its monitor runs
   * it, and the result says started.
   */
  answerWithinMs?: number;
  /** this process's fds the helper gets at fd 6 on, for the command (`preserve-fds`) */
  extraFds?: number[];
  /**
   * The status events are read once the helper exited (the callbacks come then), not as they come:
   * for a `detach`ed run, whose helper exits once the start is decided, without onInitReady or an
   * output sink (both ignore this).
   */
  eventsAtExit?: boolean;
}

export function runHelper(helperPath: string, spec: Buffer, opts: HelperOptions): Promise<HelperResult> {
  return new Promise((resolve, reject) => {
    const sink = typeof opts.output === 'function' ? opts.output : undefined;
    const out: 'pipe' | 'inherit' | 'ignore' = sink ? 'pipe' : ((opts.output as 'inherit' | 'ignore') ?? 'inherit');
    const run = (opts.mode ?? 'run') === 'run';
    // fds 3 spec, 4 status events, 5 (run) the control channel. Its own session (setsid): terminal
    // signals go to box, which forwards each exactly once.
    const stdio: ChildFd[] = [opts.stdin, out, out, 'pipe', 'pipe', run ? 'pipe' : 'ignore', ...(opts.extraFds ?? [])];
    const argv = [helperPath, opts.mode ?? 'run'];
    // From its cache file seen read-only (src/linux/sealed-exec.ts), the helper need not re-execute
    // itself; it gets the overlay's mount after the other fds, and the environment says where.
    const sealed = sealedExec(helperPath, stdio.length + 1); // above every fd the child gets
    let spawned: ReturnType<typeof spawnDetached> | undefined;
    try {
      if (sealed) {
        const env = { _BOX_HELPER_SEALED: `overlay:${stdio.length}` };
        try {
          spawned = spawnDetached(sealed.path, argv, env, [...stdio, sealed.mountFd]);
        } catch {
          // refused from there (a security module's rule, say): the helper seals itself, and the
          // plain path's error, if any, says why
        } finally {
          sealed.close();
        }
      }
      spawned ??= spawnDetached(helperPath, argv, {}, stdio);
    } catch (err) {
      return reject(err);
    }
    const hooked = run && opts.onInitReady !== undefined;
    // Without a hook the answer is given up front, before the spec: the helper reads it once its init
    // exists and never waits for box (a stopped or killed box cannot hold the start, as before
    // protocol 2). Then the spec, before anything else of this process's set-up: the helper waits for its end.
    if (run && !hooked) writeAllAndClose(spawned.fds[5]!, GO);
    writeAllAndClose(spawned.fds[3]!, spec);
    mark('helper spawned');
    const helperPid = spawned.pid;
    const socketAt = (i: number, readable: boolean) =>
      new (require('node:net') as typeof net).Socket({ fd: spawned.fds[i]!, readable, writable: !readable });
    const atExit = opts.eventsAtExit === true && !sink && !hooked;
    let reaped = false;
    const result: HelperResult = { exitCode: 125, started: false };
    // with a sink, the result waits for the output's end too, so no line comes after it
    let openOutputs = 0;
    if (sink) {
      for (const stream of [socketAt(1, true), socketAt(2, true)]) {
        openOutputs++;
        stream.on('data', sink);
        stream.on('close', () => {
          openOutputs--;
          finish();
        });
      }
    }
    const forward = (sig: NodeJS.Signals) => {
      if (reaped) return; // its pid may be another process's by now
      try {
        process.kill(helperPid, sig);
      } catch {
        /* already gone */
      }
    };
    for (const sig of FORWARDED) process.on(sig, forward);
    let answerTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      for (const sig of FORWARDED) process.off(sig, forward);
      clearTimeout(answerTimer);
    };

    const control = hooked ? socketAt(5, false) : undefined;
    control?.on('error', () => {
      /* the helper is gone (it failed before its init existed); its status says why */
    });
    let hookError: unknown;
    const answer = async (pid: number) => {
      try {
        await opts.onInitReady!(pid);
        control?.end('go\n');
      } catch (err) {
        // An init that died in its own setup (a mount it could not make) or was killed meanwhile is
        // the reason, not the hook that found it gone: `go` lets the helper report its end.
        if (initDying(pid)) return void control?.end('go\n');
        hookError = err;
        control?.end('abort\n');
      }
    };

    let buffered = '';
    const take = (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        handle(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    };
    const exitEvents = atExit ? new ExitEvents(spawned.fds[4]!) : undefined;
    let events: net.Socket | undefined;
    /** Reads fd 4 as a stream from now on, to its end (which finish waits for). */
    const follow = (fd: number) => {
      events = new (require('node:net') as typeof net).Socket({ fd, readable: true, writable: false });
      events.setEncoding('utf8');
      events.on('data', take);
      events.on('close', () => {
        eventsDone = true;
        finish();
      });
    };
    if (!atExit) follow(spawned.fds[4]!);
    const handle = (line: string) => {
      const [kind, a, b, ...rest] = line.split(' ');
      if (kind === 'pid') {
        mark('helper: container cloned');
        result.pid = Number(a);
        opts.onPid?.(result.pid, helperPid);
        if (run && opts.onInitReady) void answer(result.pid);
      } else if (kind === 'monitor') {
        mark('helper: monitor forked');
        opts.onMonitor?.(Number(a));
      } else if (kind === 'started') {
        result.started = true;
        mark('helper: command started');
        opts.onStarted?.();
      } else if (kind === 'exit' || kind === 'signal') {
        outcome = kind === 'exit' ? Number(a) : 128 + Number(a);
      } else if (kind === 'error') {
        result.error = { stage: a, errno: Number(b), text: rest.join(' ') };
      }
    };
    let exited: ExitStatus | undefined;
    let eventsDone = false;
    // The command's end as the helper reported it: an exec's helper closes its status fd then, and
    // stays until the reaper in the container has reaped the command's orphans (PROTOCOL.md).
    let outcome: number | undefined;
    let settled = false;
    const finish = () => {
      if (!eventsDone || openOutputs > 0) return;
      if (buffered) handle(buffered);
      buffered = '';
      if (settled || (!exited && (opts.mode !== 'exec' || outcome === undefined))) return;
      settled = true;
      stop();
      control?.destroy(); // unanswered when the helper failed before its init existed
      if (!exited) {
        unrefExit();
        result.exitCode = outcome!;
      } else if (exited.signal) {
        result.helperSignal = exited.signal;
        result.exitCode = 125;
      } else result.exitCode = exited.code ?? 125;
      if (hookError !== undefined) reject(hookError);
      else resolve(result);
    };
    if (opts.answerWithinMs !== undefined) {
      answerTimer = setTimeout(() => {
        if (settled) return;
        settled = true;
        stop();
        const fork = childPids(helperPid);
        const helper = reaped ? [] : [helperPid]; // a reaped pid may be another process's by now
        for (const pid of result.started ? helper : [...helper, ...fork]) killQuietly(pid);
        events?.destroy();
        exitEvents?.destroy();
        unrefExit();
        if (!result.started) {
          const text = `box-helper did not say within ${opts.answerWithinMs! / 1000} s whether the container started`;
          result.error ??= { stage: 'monitor', errno: os.constants.errno.ETIMEDOUT, text };
        }
        result.exitCode = result.started ? 0 : 125;
        resolve(result);
      }, opts.answerWithinMs);
    }
    const unrefExit = reapOnExit(helperPid, (status) => {
      reaped = true;
      exited = status;
      if (exitEvents && !settled) {
        mark('helper exited');
        // all the helper wrote, and its monitor's, which handed fd 4 back once it started; a monitor
        // that still holds it (the helper was killed before the start was decided) says the rest later
        const { text, open } = exitEvents.drain();
        take(text);
        if (open === undefined) eventsDone = true;
        else follow(open);
      }
      finish();
    });
  });
}

const GO = Buffer.from('go\n');

/**
 * The helper's status fd read once it exited (eventsAtExit), without a socket stream: made
 * non-blocking, so a monitor that still holds its end cannot hold the read.
 */
class ExitEvents {
  constructor(private fd: number | undefined) {
    setNonBlocking(fd!);
  }

  /** What the fd holds now, as UTF-8 text, and the fd when another process may still write to it (else closed). */
  drain(): { text: string; open?: number } {
    const chunks: Buffer[] = [];
    let ended = this.fd === undefined;
    try {
      while (!ended) {
        const buf = Buffer.allocUnsafe(4096);
        const n = fs.readSync(this.fd!, buf);
        if (n === 0) ended = true;
        chunks.push(buf.subarray(0, n));
      }
    } catch {
      /* EAGAIN: a writer is left */
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (ended) {
      this.destroy();
      return { text };
    }
    const open = this.fd;
    this.fd = undefined; // the stream that follows it owns it now
    return { text, open };
  }

  destroy(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Writes the spec (fd 3) or the up-front answer (fd 5) to the helper and closes the fd.
 * Synchronously, right after the spawn: written through a socket, the spec waited for the rest of
 * this process's set-up (signal handlers, sockets), and its end for a later turn of the event loop,
 * while the helper, started, waited for both (0.8-1.4 ms, perf trace, 2026-12-05). The socket is
 * blocking: a spec larger than its buffer waits for the helper, which reads nothing else first. A
 * helper gone meanwhile (EPIPE) says why by its status.
 */
function writeAllAndClose(fd: number, data: Buffer): void {
  try {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off);
  } catch {
    /* the helper exited before reading everything; its status says why */
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether a container's init is dead or on its way: gone or a zombie, past the point of its exit
 * where the kernel dropped its namespaces (what a hook opening its netns trips on, before it is a
 * zombie), or with SIGKILL pending (killed a moment ago).
 */
export function initDying(pid: number): boolean {
  if (processToken(pid) === undefined) return true;
  try {
    fs.readlinkSync(`/proc/${pid}/ns/net`);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const pending = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
    return pending.some((mask) => ((mask >> 8n) & 1n) === 1n); // bit 8: SIGKILL (9)
  } catch {
    return true; // its /proc entries went meanwhile
  }
}

/** The children of a process, from every one of its threads (for a helper: its fork, the monitor). */
function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((tid) =>
        fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
  } catch {
    return [];
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
