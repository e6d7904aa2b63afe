// Commands on existing containers: stop, kill, wait, logs, inspect, and the monitor's callback.
import { ContainerStore } from '../../runtime/containers';
import { assetPath } from '../../assets';
import { layout } from '../../paths';
import { onContainerExited, restartAfterBackoff } from '../../runtime/detach';
import { parseSignal } from '../../linux/signals';
import { find, killContainer, refresh, stopContainer, waitFinalized } from '../../runtime/lifecycle';
import { followLog } from '../../runtime/follow-log';
import { readLog, select, parseTimeArg, LogEntry } from '../../runtime/logs';
import { logFile } from '../../runtime/monitor-state';
import { inspectContainer } from '../../runtime/inspect';
import { printableJson } from '../../util/printable';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, list, str } from '../args';
import { roots } from '../context';

const store = () => new ContainerStore(roots());

export const stopCommand: CommandSpec = {
  paths: [['stop'], ['container', 'stop']],
  summary: "Stop running containers: the stop signal (the image's or SIGTERM), then SIGKILL after the timeout.",
  flags: [{ names: ['--time', '-t'], key: 'time', kind: 'string', value: 'seconds', description: 'seconds to wait before killing (default 10)' }],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const t = str(a, 'time');
    const timeout = t === undefined ? 10 : parseNonNegativeInt('--time', t);
    const s = store();
    for (const q of a.positionals) {
      await stopContainer(roots(), s, find(s, q), timeout);
      process.stdout.write(q + '\n');
    }
    return 0;
  },
};

export const killCommand: CommandSpec = {
  paths: [['kill'], ['container', 'kill']],
  summary: 'Send a signal (default SIGKILL) to the main process of running containers.',
  flags: [{ names: ['--signal', '-s'], key: 'signal', kind: 'string', value: 'signal', description: 'signal to send (name or number)' }],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const sig = parseSignal(str(a, 'signal') ?? 'KILL', 'signal');
    const s = store();
    for (const q of a.positionals) {
      await killContainer(roots(), s, find(s, q), sig);
      process.stdout.write(q + '\n');
    }
    return 0;
  },
};

export const waitCommand: CommandSpec = {
  paths: [['wait'], ['container', 'wait']],
  summary: 'Wait until containers stop, then print their exit codes.',
  flags: [],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const s = store();
    for (const q of a.positionals) {
      const c = await waitFinalized(roots(), s, find(s, q));
      process.stdout.write(`${c?.state.exitCode ?? 0}\n`);
    }
    return 0;
  },
};

/** Log entries on box's stdout or stderr, where the container wrote them. */
export function printLogEntries(entries: LogEntry[], timestamps: boolean): void {
  for (const e of entries) {
    const text = timestamps ? `${e.time} ${e.log}` : e.log;
    (e.stream === 'stderr' ? process.stderr : process.stdout).write(text);
  }
}

export const logsCommand: CommandSpec = {
  paths: [['logs'], ['container', 'logs']],
  summary: "Show a container's output (stdout and stderr kept apart).",
  flags: [
    { names: ['--follow', '-f'], key: 'follow', kind: 'bool', description: 'keep printing new output until the container stops' },
    { names: ['--tail', '-n'], key: 'tail', kind: 'string', value: 'n', description: 'only the last N lines ("all" for everything)' },
    { names: ['--since'], key: 'since', kind: 'string', value: 'time', description: 'only lines since a time (RFC 3339, Unix seconds, or a duration like 10m)' },
    { names: ['--until'], key: 'until', kind: 'string', value: 'time', description: 'only lines before a time' },
    { names: ['--timestamps', '-t'], key: 'timestamps', kind: 'bool', description: 'show the time of each line' },
  ],
  positionals: [{ name: 'CONTAINER' }],
  async run(a) {
    const r = roots();
    const s = store();
    const c = find(s, a.positionals[0]);
    const file = logFile(s.dir(c.id));
    const tail = str(a, 'tail');
    const query = {
      tail: tail === undefined || tail === 'all' ? undefined : parseNonNegativeInt('--tail', tail),
      since: str(a, 'since') === undefined ? undefined : parseTimeArg('--since', str(a, 'since')!),
      until: str(a, 'until') === undefined ? undefined : parseTimeArg('--until', str(a, 'until')!),
    };
    const ts = bool(a, 'timestamps');
    const { entries, cursor } = readLog(file);
    printLogEntries(select(entries, query), ts);
    if (!bool(a, 'follow')) return 0;
    await followLog(r, s, c, cursor, (fresh) => printLogEntries(select(fresh, { ...query, tail: undefined }), ts));
    return 0;
  },
};

export const inspectCommand: CommandSpec = {
  paths: [['inspect'], ['container', 'inspect']],
  summary: 'Show containers as Docker-shaped JSON.',
  flags: [],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const s = store();
    const out = [];
    for (const q of a.positionals) out.push(inspectContainer(await refresh(roots(), s, find(s, q)), s));
    process.stdout.write(printableJson(JSON.stringify(out, null, 4)) + '\n');
    return 0;
  },
};

export const execCommand: CommandSpec = {
  paths: [['exec'], ['container', 'exec']],
  summary: "Run a command in a running container, in all of its namespaces, cgroup and security settings.",
  flags: [
    { names: ['--detach', '-d'], key: 'detach', kind: 'bool', description: 'run the command in the background (its output is discarded)' },
    { names: ['--interactive', '-i'], key: 'interactive', kind: 'bool', description: 'keep standard input open' },
    { names: ['--tty', '-t'], key: 'tty', kind: 'bool', description: 'allocate a pseudo-terminal' },
    { names: ['--user', '-u'], key: 'user', kind: 'string', value: 'user', description: 'user[:group] to run as' },
    { names: ['--workdir', '-w'], key: 'workdir', kind: 'string', value: 'dir', description: 'working directory' },
    { names: ['--env', '-e'], key: 'env', kind: 'list', value: 'NAME=VALUE', description: 'set an environment variable' },
    { names: ['--env-file'], key: 'envFile', kind: 'list', value: 'file', description: 'read environment variables from a file' },
  ],
  positionals: [{ name: 'CONTAINER' }],
  stopAfterPositionals: true,
  async run(a) {
    const { execInContainer } = await import('../../runtime/exec');
    return execInContainer({
      roots: roots(),
      container: a.positionals[0],
      command: a.rest,
      user: str(a, 'user'),
      workdir: str(a, 'workdir'),
      env: list(a, 'env'),
      envFile: list(a, 'envFile'),
      tty: bool(a, 'tty'),
      interactive: bool(a, 'interactive'),
      detach: bool(a, 'detach'),
      warn: (msg: string) => process.stderr.write(`box: ${msg}\n`),
    });
  },
};

export const internalCommand: CommandSpec = {
  paths: [['internal']],
  summary: "(internal) called by a container's monitor when the container has exited, and after a restart back-off.",
  flags: [],
  positionals: [{ name: 'EVENT' }, { name: 'ID' }],
  async run(a) {
    const [event, id] = a.positionals;
    if (event === 'restart') return restartAfterBackoff(roots(), id);
    const helper = assetPath('box-helper', layout.cache(roots()));
    process.stdout.write((await onContainerExited(roots(), id, helper)) + '\n');
    return 0;
  },
};
