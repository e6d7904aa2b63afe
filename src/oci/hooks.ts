// Runtime-spec hooks that run in the runtime's namespace: prestart and createRuntime once the
// created container's namespaces exist (its init waits), poststart after it started, poststop
// when it is deleted. Each gets the container's state JSON on stdin and at most its timeout.
// A failing prestart/createRuntime hook fails create; poststart and poststop only warn (the spec
// says the lifecycle goes on).
// createContainer and startContainer hooks run in the container's namespaces: the container's
// init runs them (native `hook` and `start-hook`); hookOpArgs encodes one for it.
import { spawn } from 'node:child_process';
import { BoxError } from '../errors';
import type { HookName, OciHook } from './config';

/**
 * The helper's arguments for a hook the container's init runs: LABEL TIMEOUT HEAD TAIL NARGS PATH
 * ARGV... ENV... (native/PROTOCOL.md `hook`). The state JSON is cut at its pid, which the init puts
 * in: its own, as runc gives the hook getpid().
 */
export function hookOpArgs(label: string, hook: OciHook, state: object): (string | number)[] {
  const text = JSON.stringify({ ...state, pid: 0 });
  // a quote inside a JSON string is escaped: this is the key itself
  const at = text.indexOf('"pid":0') + '"pid":'.length;
  const argv = hook.args.length ? hook.args : [hook.path];
  return [
    label,
    hook.timeout ?? 0,
    text.slice(0, at),
    text.slice(at + 1),
    argv.length,
    hook.path,
    ...argv,
    ...hook.env,
  ];
}

function runHook(hook: OciHook, state: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(hook.path, hook.args.slice(1), {
      argv0: hook.args[0] ?? hook.path,
      env: Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.stdin.on('error', () => undefined); // a hook that does not read its stdin
    child.stdin.end(state);
    const timer = hook.timeout
      ? setTimeout(() => {
          child.kill('SIGKILL');
          stderr = `timed out after ${hook.timeout} s`;
        }, hook.timeout * 1000)
      : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(undefined);
      else resolve(`${signal ? `killed by ${signal}` : `exit ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    });
  });
}

/** Runs the hooks of one kind in order; the first failure throws (`required`) or warns. */
export async function runHooks(
  name: HookName,
  hooks: OciHook[] | undefined,
  state: object,
  required: boolean,
  warn: (m: string) => void,
): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    const failed = await runHook(hook, JSON.stringify(state));
    if (failed === undefined) continue;
    const message = `hook ${name}[${i}] ${hook.path} failed: ${failed}`;
    if (required) throw new BoxError(message);
    warn(message);
  }
}
