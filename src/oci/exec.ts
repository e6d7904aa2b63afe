// `box-runc exec`: a process in a running container, as runc runs it: it joins the container's
// namespaces and cgroup, gets the process the --process file describes (or the container's own
// with new args and the flags' changes) and the container's seccomp filter. In the foreground the
// helper relays its exit status; with --detach it goes to the caller's subreaper once it started
// (the helper's `release`), which is how containerd's shim runs `ctr task exec`.
import * as path from 'node:path';
import { assetPath } from '../assets';
import { BoxError } from '../errors';
import { lookupCapName } from '../linux/capabilities';
import { cgroupAt, detectCgroups } from '../linux/cgroups';
import { describeStartError } from '../runtime/create';
import { runHelper } from '../runtime/helper';
import { appendProcessOps } from '../runtime/process-ops';
import { HelperSpec } from '../runtime/spec';
import { outputFile } from '../util/fs';
import { readUserText } from '../util/user-file';
import { OciProcess, parseOciProcess } from './config';
import { ociStatus, readBundle, writePidFile } from './lifecycle';
import { ociSecurity } from './security';
import { OciStore } from './store';

export interface ExecOptions {
  id: string;
  /** --process FILE: the whole process */
  processFile?: string;
  /** the command, when there is no --process file */
  args: string[];
  cwd?: string;
  env: string[];
  /** --user UID[:GID] */
  user?: string;
  /** --cap NAME (repeatable): capabilities added to the process's */
  caps: string[];
  /** --no-new-privs */
  noNewPrivileges: boolean;
  detach: boolean;
  /** --tty (or process.terminal): a pty, whose master goes to consoleSocket */
  tty: boolean;
  consoleSocket?: string;
  pidFile?: string;
  /** --preserve-fds: these fds of this process become the process's 3.. */
  preserveFds: number[];
  helperCache: string;
  warn: (m: string) => void;
}

function processOf(o: ExecOptions, bundle: string): OciProcess {
  return withCaps(baseProcess(o, bundle), o.caps);
}

/**
 * exec --cap, as runc adds them: to the bounding, effective and permitted sets, and to the ambient
 * set where the process has them inheritable already (the kernel raises no other ambient one).
 */
function withCaps(p: OciProcess, names: string[]): OciProcess {
  const caps = { ...p.caps };
  for (const name of names) {
    const bit = name.toUpperCase().startsWith('CAP_') ? lookupCapName(name) : undefined;
    if (bit === undefined) throw new BoxError(`exec: --cap ${name}: unknown capability (e.g. CAP_NET_ADMIN)`);
    const m = 1n << BigInt(bit);
    caps.bounding |= m;
    caps.effective |= m;
    caps.permitted |= m;
    caps.ambient |= caps.inheritable & m;
  }
  return { ...p, caps };
}

function baseProcess(o: ExecOptions, bundle: string): OciProcess {
  if (o.processFile) {
    if (o.args.length) throw new BoxError('exec: give either --process FILE or a command, not both');
    const text = readUserText(o.processFile, {
      what: 'process file',
      maxBytes: 4 << 20,
      hint: 'give --process a JSON file',
    });
    const { process, warnings } = parseOciProcess(text);
    for (const w of warnings) o.warn(w);
    return process;
  }
  if (!o.args.length) throw new BoxError('exec: give the command to run, or --process FILE');
  const base = readBundle(bundle).process;
  const p: OciProcess = { ...base, args: o.args, env: [...base.env, ...o.env] };
  if (o.cwd !== undefined) {
    if (!o.cwd.startsWith('/')) throw new BoxError(`exec: --cwd ${o.cwd} must be an absolute path`);
    p.cwd = o.cwd;
  }
  if (o.noNewPrivileges) p.noNewPrivileges = true;
  if (o.user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
    if (!m) throw new BoxError(`exec: --user ${o.user}: use UID or UID:GID (numbers)`);
    p.user = { uid: Number(m[1]), gid: Number(m[2] ?? 0), additionalGids: [] };
  }
  return p;
}

export async function ociExec(store: OciStore, o: ExecOptions): Promise<number> {
  if (o.pidFile) outputFile(o.pidFile, '--pid-file', { follow: false }); // refused before the process starts
  const rec = store.need(o.id);
  const status = ociStatus(store, rec);
  if (status === 'paused') throw new BoxError(`cannot exec in a paused container: resume ${o.id} first`);
  if (status !== 'running') throw new BoxError(`cannot exec in a ${status} container`);
  const process = processOf(o, rec.bundle);
  const tty = o.tty || process.terminal;
  if (tty && !(o.consoleSocket && o.detach)) {
    throw new BoxError('exec: a terminal needs --console-socket and --detach: the caller relays it');
  }
  if (o.consoleSocket && !tty) throw new BoxError('exec: --console-socket needs --tty');
  const security = ociSecurity({ process, seccomp: rec.seccomp });
  const spec = new HelperSpec().op('join', rec.pid);
  if (o.detach) spec.op('detach').op('release');
  if (tty) spec.op('tty').op('console-socket', path.resolve(o.consoleSocket!));
  if (tty && process.consoleSize) spec.op('tty-size', process.consoleSize.rows, process.consoleSize.cols);
  for (const f of cgroupAt(detectCgroups(), rec.cgroupPath, rec.limits).joinFiles()) spec.op('cgroup-join', f);
  appendProcessOps(spec, {
    user: process.user,
    ulimits: process.rlimits,
    noNewPrivileges: process.noNewPrivileges,
    security,
    cwd: process.cwd,
    env: process.env,
  });
  spec.op('args', ...process.args);
  if (o.preserveFds.length) spec.op('preserve-fds', o.preserveFds.length);
  const result = await runHelper(assetPath('box-helper', o.helperCache), spec.encode(), {
    mode: 'exec',
    extraFds: o.preserveFds,
    stdin: 'inherit',
    output: 'inherit',
    onPid: (pid) => {
      if (o.pidFile) writePidFile(o.pidFile, pid);
    },
  });
  if (result.error) throw new BoxError(describeStartError(result.error, process.args[0]));
  if (!result.started) throw new BoxError(`exec: the process did not start (box-helper exited ${result.exitCode})`);
  return o.detach ? 0 : result.exitCode;
}
