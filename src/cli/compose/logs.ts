// `box compose logs`: the output of the project's containers, each line prefixed by its
// container's name (coloured on a terminal), or followed (-f) until they all stop.
import { followLog } from '../../runtime/follow-log';
import { readLog, select } from '../../runtime/logs';
import { logFile } from '../../runtime/monitor-state';
import { parseNonNegativeInt } from '../../util/units';
import { bool, CommandSpec, str } from '../args';
import { roots } from '../context';
import { containersOf, PrefixPrinter, SERVICES, store } from './common';
import { loadComposeProject } from './context';

export const logsCommand: CommandSpec = {
  paths: [['compose', 'logs']],
  summary: "Show the output of the project's containers, prefixed by container.",
  flags: [
    { names: ['--follow', '-f'], key: 'follow', kind: 'bool', description: 'follow the output' },
    { names: ['--tail', '-n'], key: 'tail', kind: 'string', value: 'n', description: 'only the last N lines of each' },
    { names: ['--timestamps', '-t'], key: 'timestamps', kind: 'bool', description: 'show the time of each line' },
    { names: ['--no-log-prefix'], key: 'noPrefix', kind: 'bool', description: 'print lines without the prefix' },
  ],
  positionals: [SERVICES],
  async run(a) {
    const project = loadComposeProject(a.positionals);
    const s = store();
    const tail = str(a, 'tail');
    const query = { tail: tail === undefined || tail === 'all' ? undefined : parseNonNegativeInt('--tail', tail) };
    const containers = containersOf(project, a.positionals, true);
    const printer = new PrefixPrinter(
      containers.map((c) => c.record.name),
      bool(a, 'timestamps'),
      !bool(a, 'noPrefix'),
    );
    const cursors = containers.map(({ record }) => {
      const { entries, cursor } = readLog(logFile(s.dir(record.id)));
      printer.print(record.name, select(entries, query));
      return cursor;
    });
    if (!bool(a, 'follow')) return 0;
    await Promise.all(
      containers.map(({ record }, i) =>
        followLog(roots(), s, record, cursors[i], (e) => printer.print(record.name, e)),
      ),
    );
    return 0;
  },
};
