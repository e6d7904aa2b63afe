// box as an OCI runtime: runc's command line, run as `box oci ...` or through a link named
// `box-runc`. Global flags come first (--root, --log, --log-format, --systemd-cgroup, --debug,
// --rootless), then the command. Every failure is printed on stderr and, with --log, appended
// to the log as runc writes it (a JSON line with --log-format json), where containerd and podman
// read the runtime's reason.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { BoxError } from '../../errors';
import { parseSignal } from '../../linux/signals';
import type { CgroupLimits } from '../../linux/cgroups';
import { layout, resolveRoots, Roots } from '../../paths';
import { parseBytes, parseInteger } from '../../util/units';
import { appendNoFollow } from '../../util/safe-open';
import { readUserText } from '../../util/user-file';
import { BOX_VERSION } from '../../version';
import { OCI_VERSION_MAX } from '../../oci/config';
import { DEFAULT_OCI_ROOT, OciStore } from '../../oci/store';
import { mark } from '../../util/trace';
import { OciFlag, OciFlagValues, parseOciFlags } from './flags';
import { isoTime } from '../../util/iso-time';

const GLOBAL_FLAGS: OciFlag[] = [
  { names: ['root'], value: true },
  // box's storage root (helper, policies, audit log), when the environment cannot carry BOX_ROOT
  // (conmon runs the runtime with its own): podman --runtime-flag box-root=DIR
  { names: ['box-root'], value: true },
  { names: ['log'], value: true },
  { names: ['log-format'], value: true },
  { names: ['systemd-cgroup'], refused: 'box-runc manages cgroupfs cgroups only (systemd is not asked)' },
  { names: ['debug'] },
  { names: ['rootless'], value: true },
  { names: ['criu'], value: true, refused: 'box-runc cannot checkpoint containers' },
  { names: ['version', 'v'] },
  { names: ['help', 'h'] },
];

interface Context {
  store: OciStore;
  /** box's roots (BOX_ROOT, `box --root`): the helper's cache, the policies, the audit log */
  roots: Roots;
  /** where runc's log lines go (--log), and how (--log-format) */
  log: (level: 'error' | 'warning' | 'debug', msg: string) => void;
  debug: boolean;
}

interface OciCommand {
  flags: OciFlag[];
  usage: string;
  run(ctx: Context, flags: OciFlagValues, args: string[]): Promise<number>;
}

const lazy = () => require('../../oci/lifecycle') as typeof import('../../oci/lifecycle');

function oneId(args: string[], usage: string): string {
  if (args.length !== 1) throw new BoxError(`usage: ${usage}`);
  return args[0];
}

const CREATE_FLAGS: OciFlag[] = [
  { names: ['bundle', 'b'], value: true },
  { names: ['pid-file'], value: true },
  { names: ['console-socket'], value: true },
  { names: ['no-pivot'], refused: 'box always uses pivot_root' },
  { names: ['no-new-keyring'] }, // box never makes a session keyring: what this flag asks for
  { names: ['preserve-fds'], value: true },
];

/** --preserve-fds N: this process's fds 3..N+2 (the caller's, kept open across box-runc's exec) go to the command. */
function preservedFds(flags: OciFlagValues): number[] {
  const text = flags['preserve-fds'] as string | undefined;
  if (text === undefined) return [];
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n <= 1024)) throw new BoxError(`--preserve-fds ${text}: give a number of descriptors (0 to 1024)`);
  const fds = Array.from({ length: n }, (_, i) => 3 + i);
  for (const fd of fds) {
    try {
      fs.fstatSync(fd);
    } catch {
      throw new BoxError(`--preserve-fds ${n}: fd ${fd} is not open: the caller passes fds 3 to ${n + 2}`);
    }
  }
  return fds;
}

async function create(
  ctx: Context,
  flags: OciFlagValues,
  id: string,
  foreground?: (helper: ChildProcess) => void,
): Promise<void> {
  const preserveFds = preservedFds(flags);
  const { ociCreate } = lazy();
  const { admitBundle } = require('../../oci/policy') as typeof import('../../oci/policy');
  await ociCreate(ctx.store, {
    id,
    bundle: (flags.bundle as string | undefined) ?? '.',
    pidFile: flags['pid-file'] as string | undefined,
    consoleSocket: flags['console-socket'] as string | undefined,
    preserveFds,
    helperCache: layout.cache(ctx.roots),
    admit: (config, cid) =>
      admitBundle(
        config,
        cid,
        ctx.roots,
        (m) => ctx.log('warning', m),
        () => lazy().ociCommitted(ctx.store),
      ),
    warn: (m) => ctx.log('warning', m),
    foreground,
  });
}

/** The signals runc run passes on to the container (SIGCHLD, SIGPIPE, SIGWINCH... are its own). */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * runc run without --detach: create and start with the helper as the init's parent and this
 * process its parent, the container's stdio this process's, the signals it gets passed on (the
 * helper forwards them to the init); once the container ended, delete it (unless --keep) and
 * exit with its status (128+N for signal N), as runc does.
 */
async function runForeground(ctx: Context, flags: OciFlagValues, id: string): Promise<number> {
  let helper: ChildProcess | undefined;
  let ended: Promise<number> = Promise.resolve(125);
  const status = (code: number | null, signal: NodeJS.Signals | null) =>
    code ?? 128 + (signal ? osConstants.signals[signal] : 0);
  await create(ctx, flags, id, (h) => {
    helper = h;
    ended = new Promise((resolve) => {
      if (h.exitCode !== null || h.signalCode !== null) resolve(status(h.exitCode, h.signalCode));
      else h.once('exit', (code, signal) => resolve(status(code, signal)));
    });
  });
  const pass = (sig: NodeJS.Signals) => helper?.kill(sig);
  for (const sig of FORWARDED) process.on(sig, pass);
  const { ociStart, ociDelete } = lazy();
  const warn = (m: string) => ctx.log('warning', m);
  try {
    try {
      await ociStart(ctx.store, id, warn);
    } catch (err) {
      await ociDelete(ctx.store, id, true, warn); // aborts the init still waiting for go
      await ended;
      throw err;
    }
    const code = await ended;
    if (!flags.keep) await ociDelete(ctx.store, id, true, warn);
    return code;
  } finally {
    for (const sig of FORWARDED) process.off(sig, pass);
  }
}

/** runc update's flags: flag, the limit it sets, its parser (sizes like 64m for memory, as runc). */
const UPDATE_FLAGS: [string, keyof CgroupLimits, (flag: string, v: string) => number | string][] = [
  ['memory', 'memory', parseBytes],
  ['memory-reservation', 'memoryReservation', parseBytes],
  ['memory-swap', 'memorySwap', (f, v) => (v === '-1' ? -1 : parseBytes(f, v))],
  ['cpu-period', 'cpuPeriod', parseInteger],
  ['cpu-quota', 'cpuQuota', parseInteger],
  ['cpu-share', 'cpuShares', parseInteger],
  ['cpuset-cpus', 'cpusetCpus', (_f, v) => v],
  ['cpuset-mems', 'cpusetMems', (_f, v) => v],
  ['pids-limit', 'pidsLimit', parseInteger],
];

const COMMANDS: Record<string, OciCommand> = {
  create: {
    flags: CREATE_FLAGS,
    usage: 'create [--bundle DIR] [--pid-file FILE] ID',
    async run(ctx, flags, args) {
      await create(ctx, flags, oneId(args, this.usage));
      return 0;
    },
  },
  run: {
    flags: [...CREATE_FLAGS, { names: ['detach', 'd'] }, { names: ['keep'] }],
    usage: 'run [--detach] [--keep] [--bundle DIR] [--pid-file FILE] ID',
    async run(ctx, flags, args) {
      const id = oneId(args, this.usage);
      if (!flags.detach) return await runForeground(ctx, flags, id);
      await create(ctx, flags, id);
      const { ociStart, ociDelete } = lazy();
      try {
        await ociStart(ctx.store, id, (m) => ctx.log('warning', m));
      } catch (err) {
        await ociDelete(ctx.store, id, true);
        throw err;
      }
      return 0;
    },
  },
  start: {
    flags: [],
    usage: 'start ID',
    async run(ctx, _flags, args) {
      await lazy().ociStart(ctx.store, oneId(args, this.usage), (m) => ctx.log('warning', m));
      return 0;
    },
  },
  state: {
    flags: [],
    usage: 'state ID',
    async run(ctx, _flags, args) {
      process.stdout.write(JSON.stringify(lazy().ociState(ctx.store, oneId(args, this.usage)), null, '  ') + '\n');
      return 0;
    },
  },
  kill: {
    flags: [{ names: ['all', 'a'] }],
    usage: 'kill [--all] ID [SIGNAL]',
    async run(ctx, flags, args) {
      if (args.length < 1 || args.length > 2) throw new BoxError(`usage: ${this.usage}`);
      const signal = parseSignal(args[1] ?? 'SIGTERM', 'signal');
      await lazy().ociKill(ctx.store, args[0], signal, flags.all === true);
      return 0;
    },
  },
  delete: {
    flags: [{ names: ['force', 'f'] }],
    usage: 'delete [--force] ID',
    async run(ctx, flags, args) {
      await lazy().ociDelete(ctx.store, oneId(args, this.usage), flags.force === true, (m) => ctx.log('warning', m));
      return 0;
    },
  },
  pause: {
    flags: [],
    usage: 'pause ID',
    async run(ctx, _flags, args) {
      await lazy().ociFreeze(ctx.store, oneId(args, this.usage), true);
      return 0;
    },
  },
  resume: {
    flags: [],
    usage: 'resume ID',
    async run(ctx, _flags, args) {
      await lazy().ociFreeze(ctx.store, oneId(args, this.usage), false);
      return 0;
    },
  },
  list: {
    flags: [{ names: ['format', 'f'], value: true }, { names: ['quiet', 'q'] }],
    usage: 'list [--format table|json] [--quiet]',
    async run(ctx, flags) {
      const { ociState } = lazy();
      const states = ctx.store.ids().flatMap((id) => {
        try {
          return [ociState(ctx.store, id)];
        } catch {
          return []; // being created or deleted right now
        }
      });
      if (flags.quiet) process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
      else if (format(flags) === 'json') process.stdout.write(JSON.stringify(states) + '\n');
      else {
        const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
        for (const s of states) rows.push([s.id, s.pid, s.status, s.bundle, s.created, 'root'].map(String));
        process.stdout.write(table(rows));
      }
      return 0;
    },
  },
  ps: {
    flags: [{ names: ['format', 'f'], value: true }],
    usage: 'ps [--format table|json] ID',
    async run(ctx, flags, args) {
      const pids = lazy().ociPids(ctx.store, oneId(args, this.usage));
      if (format(flags) === 'json') process.stdout.write(JSON.stringify(pids) + '\n');
      else process.stdout.write(table([['PID', 'CMD'], ...pids.map((p) => [String(p), commandOf(p)])]));
      return 0;
    },
  },
  exec: {
    flags: [
      { names: ['process', 'p'], value: true },
      { names: ['detach', 'd'] },
      { names: ['pid-file'], value: true },
      { names: ['console-socket'], value: true },
      { names: ['tty', 't'] },
      { names: ['cwd'], value: true },
      { names: ['env', 'e'], value: true, repeat: true },
      { names: ['user', 'u'], value: true },
      { names: ['cap', 'c'], value: true, repeat: true },
      { names: ['no-new-privs'] },
      { names: ['preserve-fds'], value: true },
      { names: ['process-label'], value: true, refused: 'box applies no SELinux label' },
      { names: ['apparmor'], value: true, refused: 'box applies no AppArmor profile' },
    ],
    usage: 'exec [--process FILE | ID COMMAND [ARG...]] [--detach] [--pid-file FILE] ID',
    async run(ctx, flags, args) {
      const preserveFds = preservedFds(flags);
      if (!args.length) throw new BoxError(`usage: ${this.usage}`);
      const { ociExec } = require('../../oci/exec') as typeof import('../../oci/exec');
      return await ociExec(ctx.store, {
        id: args[0],
        processFile: flags.process as string | undefined,
        args: args.slice(1),
        cwd: flags.cwd as string | undefined,
        env: (flags.env as string[] | undefined) ?? [],
        user: flags.user as string | undefined,
        caps: (flags.cap as string[] | undefined) ?? [],
        noNewPrivileges: flags['no-new-privs'] === true,
        detach: flags.detach === true,
        tty: flags.tty === true,
        consoleSocket: flags['console-socket'] as string | undefined,
        pidFile: flags['pid-file'] as string | undefined,
        preserveFds,
        helperCache: layout.cache(ctx.roots),
        warn: (m) => ctx.log('warning', m),
      });
    },
  },
  update: {
    flags: [
      { names: ['resources', 'r'], value: true },
      ...UPDATE_FLAGS.map(([name]) => ({ names: [name], value: true })),
      { names: ['kernel-memory'], value: true, refused: 'box does not set kernel memory limits' },
      { names: ['blkio-weight'], value: true, refused: 'box does not set blkio weights yet' },
    ],
    usage: 'update [--resources FILE|-] [--memory N] [--cpu-quota N] [--pids-limit N] ... ID',
    async run(ctx, flags, args) {
      const { parseOciResources } = require('../../oci/config') as typeof import('../../oci/config');
      const file = flags.resources as string | undefined;
      const what = { what: 'resources', maxBytes: 1 << 20, hint: 'give a LinuxResources JSON', stdin: true };
      const changed: CgroupLimits = file ? parseOciResources(readUserText(file, what)) : {};
      for (const [name, key, parse] of UPDATE_FLAGS) {
        const v = flags[name] as string | undefined;
        if (v !== undefined) (changed as Record<string, unknown>)[key] = parse(`--${name}`, v);
      }
      lazy().ociUpdate(ctx.store, oneId(args, this.usage), changed);
      return 0;
    },
  },
  features: {
    flags: [],
    usage: 'features',
    async run() {
      const { ociFeatures } = require('../../oci/features') as typeof import('../../oci/features');
      process.stdout.write(JSON.stringify(ociFeatures(), null, '    ') + '\n');
      return 0;
    },
  },
};

// runc's commands box-runc does not have yet: refused by name, never half done.
const NOT_YET: Record<string, string> = {
  checkpoint: 'box-runc cannot checkpoint containers',
  restore: 'box-runc cannot restore containers',
  events: 'box-runc does not report events',
  spec: 'box-runc does not write example bundles',
};

function format(flags: OciFlagValues): 'table' | 'json' {
  const f = (flags.format as string | undefined) ?? 'table';
  if (f !== 'table' && f !== 'json')
    throw new BoxError(`invalid format option ${JSON.stringify(f)}: use table or json`);
  return f;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ')).join('\n') + '\n';
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** runc's --version: three lines, the runtime-spec version last. */
function versionText(prog: string): string {
  return `${prog} version ${BOX_VERSION}\ncommit: box ${BOX_VERSION}\nspec: ${OCI_VERSION_MAX}\n`;
}

const USAGE = (prog: string) =>
  `Usage: ${prog} [--root DIR] [--log FILE] [--log-format text|json] COMMAND [FLAGS] ID\n\nCommands: ${[
    ...Object.keys(COMMANDS),
  ].join(', ')}\n`;

/** runc's --log: never through a symlink (the native half's rule, word for word). */
function checkLogFile(file: string | undefined): void {
  if (file !== undefined && fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new BoxError(
      `--log ${file} is a symbolic link: box-runc never writes its log through one; give the file itself`,
    );
  }
}

function makeLog(file: string | undefined, fmt: string, debug: boolean): Context['log'] {
  if (fmt !== 'text' && fmt !== 'json') throw new BoxError(`--log-format ${fmt}: use text or json`);
  checkLogFile(file);
  return (level, msg) => {
    if (level === 'debug' && !debug) return;
    // With a log, a warning goes there alone: create's stderr is the container's (as runc's is)
    if (level === 'error' || (level === 'warning' && !file)) {
      process.stderr.write(`${level === 'error' ? '' : `${level}: `}${msg}\n`);
    }
    if (!file) return;
    const time = isoTime();
    const line =
      fmt === 'json'
        ? JSON.stringify({ level, msg, time })
        : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    try {
      appendNoFollow(file, line + '\n'); // one write on O_APPEND, never through a link swapped in since
    } catch {
      /* a log we cannot write must not hide the error itself */
    }
  };
}

/** Runs runc's command line; prog names box in messages (`box-runc` or `box oci`). */
export async function runOci(argv: string[], prog: string, storageRoot?: string): Promise<number> {
  let log: Context['log'] = (_level, msg) => process.stderr.write(`${msg}\n`);
  try {
    const { flags: g, rest } = parseOciFlags(argv, GLOBAL_FLAGS, prog);
    log = makeLog(g.log as string | undefined, (g['log-format'] as string | undefined) ?? 'text', g.debug === true);
    if (g.version) {
      process.stdout.write(versionText(prog));
      return 0;
    }
    const rootless = g.rootless as string | undefined;
    if (rootless !== undefined && rootless !== 'false' && rootless !== 'auto') {
      throw new BoxError(`--rootless ${rootless}: box runs containers as root only; rootless mode is not there yet`);
    }
    if (process.geteuid?.() !== 0) throw new BoxError(`${prog} must run as root (box has no rootless mode yet)`);
    const [name, ...args] = rest;
    if (!name || g.help) {
      process.stdout.write(USAGE(prog));
      return name || g.help ? 0 : 125;
    }
    if (Object.hasOwn(NOT_YET, name)) throw new BoxError(`${name}: ${NOT_YET[name]}`);
    if (!Object.hasOwn(COMMANDS, name))
      throw new BoxError(`no such command ${JSON.stringify(name)}: see ${prog} --help`);
    const cmd = COMMANDS[name];
    const { flags, rest: positionals } = parseOciFlags(args, cmd.flags, `${prog} ${name}`);
    const debug = g.debug === true;
    // a relative --root is the caller's working directory's, as runc takes it (the helper's paths are absolute)
    const store = new OciStore(path.resolve((g.root as string | undefined) ?? DEFAULT_OCI_ROOT));
    // every command but features reads or writes under --root: a root others could swap is refused
    if (name !== 'features') store.trust();
    const boxRoot = (g['box-root'] as string | undefined) ?? storageRoot;
    const ctx: Context = { store, roots: resolveRoots({ root: boxRoot }), log, debug };
    log('debug', `${prog} ${argv.join(' ')}`);
    mark('oci: parsed');
    return await cmd.run(ctx, flags, positionals);
  } catch (err) {
    log('error', err instanceof Error ? err.message : String(err));
    return err instanceof BoxError ? err.exitCode : 125;
  }
}
