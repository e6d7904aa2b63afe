// `box logs`: a detached container's output, selected by --tail/--since/--until, or followed (-f).
import { find } from '../../runtime/lifecycle';
import { followLog } from '../../runtime/follow-log';
import { readLog, select, parseTimeArg, LogEntry } from '../../runtime/logs';
import { logFile } from '../../runtime/monitor-state';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { store } from './common';

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
    {
      names: ['--follow', '-f'],
      key: 'follow',
      kind: 'bool',
      description: 'keep printing new output until the container stops',
    },
    {
      names: ['--tail', '-n'],
      key: 'tail',
      kind: 'string',
      value: 'n',
      description: 'only the last N lines ("all" for everything)',
    },
    {
      names: ['--since'],
      key: 'since',
      kind: 'string',
      value: 'time',
      description: 'only lines since a time (RFC 3339, Unix seconds, or a duration like 10m)',
    },
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
