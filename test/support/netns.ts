// Network namespaces for tests that stand in for containers: a process in a fresh netns
// (`unshare -n sleep`), the kernel's view read back with `ip -j` (tests may use host tools; the
// product never does), and unique names so parallel runs never share a kernel object.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { until } from './box';

/** A short random tag for interface names (Linux allows 15 characters). */
export function nameTag(): string {
  return crypto.randomBytes(3).toString('hex');
}

export interface NetnsProcess {
  pid: number;
  /** Kills the process (by its pid) and waits until it is gone; its netns goes with it. */
  stop(): Promise<void>;
}

/** A sleeping process in a new network namespace, ready once its netns differs from ours. */
export async function startNetnsProcess(): Promise<NetnsProcess> {
  const child: ChildProcess = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' });
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ours = fs.readlinkSync('/proc/self/ns/net');
  // unshare execs sleep once the namespace is made: "sleep" in a netns other than ours is ready.
  until(
    `process ${pid} (unshare -n sleep) in its own netns`,
    () => {
      try {
        return {
          ns: fs.readlinkSync(`/proc/${pid}/ns/net`),
          comm: fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
        };
      } catch {
        return { ns: ours, comm: '' };
      }
    },
    (s) => s.ns !== ours && s.comm === 'sleep',
  );
  return {
    pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

/** `ip -j ARGS` in the network namespace of `pid` (undefined: the host's), parsed. */
export function ipJson<T = Record<string, unknown>[]>(pid: number | undefined, args: string[]): T {
  const argv = pid === undefined ? ['-j', ...args] : ['-t', String(pid), '-n', 'ip', '-j', ...args];
  const out = execFileSync(pid === undefined ? 'ip' : 'nsenter', argv, { encoding: 'utf8' });
  return JSON.parse(out.trim() || '[]') as T;
}

/** `ip ARGS` on the host (test scaffolding: bridges and veths the test itself made). */
export function ip(args: string[], pid?: number): string {
  const argv = pid === undefined ? args : ['-t', String(pid), '-n', 'ip', ...args];
  return execFileSync(pid === undefined ? 'ip' : 'nsenter', argv, { encoding: 'utf8' });
}

/** Names of the host's links that start with `prefix`. */
export function hostLinksStartingWith(prefix: string): string[] {
  return ipJson<{ ifname: string }[]>(undefined, ['link', 'show'])
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(prefix));
}
