// The command line: global options (--root, --runroot) come before the command, as with docker.
// Only the module of the command being run is loaded (require inside the table), because every
// millisecond of start-up is paid by every container start.
import { BoxError } from '../errors';
import { BOX_VERSION } from '../version';
import { CommandSpec, commandHelp, parseArgs } from './args';
import { globals } from './context';
import { mark } from '../util/trace';

interface Entry {
  paths: string[][];
  load: () => CommandSpec;
  hidden?: boolean;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Entry[] = [
  { paths: [['run'], ['container', 'run']], load: () => require('./container/run').runCommand },
  { paths: [['ps'], ['container', 'ls'], ['container', 'list']], load: () => require('./container/ps').psCommand },
  { paths: [['rm'], ['container', 'rm']], load: () => require('./container/rm').rmCommand },
  { paths: [['stop'], ['container', 'stop']], load: () => require('./container/stop').stopCommand },
  { paths: [['kill'], ['container', 'kill']], load: () => require('./container/stop').killCommand },
  { paths: [['wait'], ['container', 'wait']], load: () => require('./container/wait').waitCommand },
  { paths: [['logs'], ['container', 'logs']], load: () => require('./container/logs').logsCommand },
  { paths: [['inspect']], load: () => require('./container/inspect').inspectCommand },
  { paths: [['container', 'inspect']], load: () => require('./container/inspect').containerInspectCommand },
  { paths: [['exec'], ['container', 'exec']], load: () => require('./container/exec').execCommand },
  { paths: [['create'], ['container', 'create']], load: () => require('./container/create').createCommand },
  { paths: [['start'], ['container', 'start']], load: () => require('./container/start').startCommand },
  { paths: [['restart'], ['container', 'restart']], load: () => require('./container/start').restartCommand },
  { paths: [['attach'], ['container', 'attach']], load: () => require('./container/attach').attachCommand },
  { paths: [['events'], ['system', 'events']], load: () => require('./system/events').eventsCommand },
  { paths: [['system', 'boot']], load: () => require('./system/boot').bootCommand },
  { paths: [['system', 'install-unit']], load: () => require('./system/boot').installUnitCommand },
  {
    paths: [['system', 'install-runtime']],
    load: () => require('./system/install-runtime').installRuntimeCommand,
  },
  { paths: [['pause'], ['container', 'pause']], load: () => require('./container/pause').pauseCommand },
  { paths: [['unpause'], ['container', 'unpause']], load: () => require('./container/pause').unpauseCommand },
  { paths: [['rename'], ['container', 'rename']], load: () => require('./container/rename').renameCommand },
  { paths: [['top'], ['container', 'top']], load: () => require('./container/top').topCommand },
  { paths: [['stats'], ['container', 'stats']], load: () => require('./container/stats').statsCommand },
  { paths: [['update'], ['container', 'update']], load: () => require('./container/update').updateCommand },
  { paths: [['port'], ['container', 'port']], load: () => require('./container/port').portCommand },
  { paths: [['diff'], ['container', 'diff']], load: () => require('./container/diff').diffCommand },
  { paths: [['cp'], ['container', 'cp']], load: () => require('./container/cp').cpCommand },
  { paths: [['internal']], load: () => require('./container/internal').internalCommand, hidden: true },
  { paths: [['internal', 'dns']], load: () => require('./system/dns-responder').dnsResponderCommand, hidden: true },
  { paths: [['images'], ['image', 'ls'], ['image', 'list']], load: () => require('./image/images').imagesCommand },
  { paths: [['import'], ['image', 'import']], load: () => require('./image/import').importCommand },
  { paths: [['build'], ['image', 'build']], load: () => require('./image/build').buildCommand },
  { paths: [['commit'], ['container', 'commit']], load: () => require('./image/commit').commitCommand },
  { paths: [['builder', 'prune']], load: () => require('./image/builder').builderPruneCommand },
  { paths: [['pull'], ['image', 'pull']], load: () => require('./image/pull').pullCommandSpec },
  { paths: [['rmi'], ['image', 'rm']], load: () => require('./image/rmi').rmiCommand },
  { paths: [['tag'], ['image', 'tag']], load: () => require('./image/tag').tagCommand },
  { paths: [['image', 'inspect']], load: () => require('./image/inspect').imageInspectCommand },
  { paths: [['history'], ['image', 'history']], load: () => require('./image/history').historyCommand },
  { paths: [['image', 'prune']], load: () => require('./image/prune').imagePruneCommand },
  { paths: [['container', 'prune']], load: () => require('./container/prune').containerPruneCommand },
  { paths: [['system', 'prune']], load: () => require('./system/prune').systemPruneCommand },
  { paths: [['system', 'df']], load: () => require('./system/df').systemDfCommand },
  { paths: [['system', 'check']], load: () => require('./system/check').systemCheckCommand },
  { paths: [['load'], ['image', 'load']], load: () => require('./image/load').loadCommand },
  { paths: [['save'], ['image', 'save']], load: () => require('./image/save').saveCommand },
  { paths: [['export'], ['container', 'export']], load: () => require('./container/export').exportCommand },
  { paths: [['push'], ['image', 'push']], load: () => require('./image/push').pushCommand },
  { paths: [['login']], load: () => require('./image/login').loginCommand },
  { paths: [['logout']], load: () => require('./image/login').logoutCommand },
  { paths: [['policy', 'build']], load: () => require('./policy').policyBuildCommand },
  { paths: [['policy', 'test']], load: () => require('./policy').policyTestCommand },
  { paths: [['policy', 'eval']], load: () => require('./policy').policyEvalCommand },
  { paths: [['policy', 'inspect']], load: () => require('./policy').policyInspectCommand },
  { paths: [['policy', 'export']], load: () => require('./policy').policyExportCommand },
  {
    paths: [
      ['policy', 'ls'],
      ['policy', 'list'],
    ],
    load: () => require('./policy').policyListCommand,
  },
  { paths: [['policy', 'log']], load: () => require('./policy').policyLogCommand },
  { paths: [['policy', 'types']], load: () => require('./policy').policyTypesCommand },
  { paths: [['volume', 'create']], load: () => require('./volume/create').volumeCreateCommand },
  {
    paths: [
      ['volume', 'ls'],
      ['volume', 'list'],
    ],
    load: () => require('./volume/ls').volumeLsCommand,
  },
  { paths: [['volume', 'inspect']], load: () => require('./volume/inspect').volumeInspectCommand },
  {
    paths: [
      ['volume', 'rm'],
      ['volume', 'remove'],
    ],
    load: () => require('./volume/rm').volumeRmCommand,
  },
  { paths: [['volume', 'prune']], load: () => require('./volume/prune').volumePruneCommand },
  { paths: [['network', 'create']], load: () => require('./network/create').networkCreateCommand },
  {
    paths: [
      ['network', 'ls'],
      ['network', 'list'],
    ],
    load: () => require('./network/ls').networkLsCommand,
  },
  { paths: [['network', 'inspect']], load: () => require('./network/inspect').networkInspectCommand },
  {
    paths: [
      ['network', 'rm'],
      ['network', 'remove'],
    ],
    load: () => require('./network/rm').networkRmCommand,
  },
  { paths: [['network', 'prune']], load: () => require('./network/rm').networkPruneCommand },
  { paths: [['network', 'connect']], load: () => require('./network/connect').networkConnectCommand },
  { paths: [['network', 'disconnect']], load: () => require('./network/connect').networkDisconnectCommand },
  { paths: [['compose']], load: () => require('./compose/index').composeCommand },
  { paths: [['info'], ['system', 'info']], load: () => require('./system/info').infoCommand },
  { paths: [['version']], load: () => require('./system/version').versionCommand },
  { paths: [['completion']], load: () => require('./completion').completionCommand(visibleCommands) },
];
// `box oci ...` (runc's command line, src/cli/oci/) is dispatched before this table: its grammar is runc's.

/** Every command a user may type, with its spec (for `box completion`). */
export function visibleCommands(): { paths: string[][]; spec: CommandSpec }[] {
  return COMMANDS.filter((c) => !c.hidden).map((c) => ({ paths: c.paths, spec: c.load() }));
}

const GLOBAL_WITH_VALUE = new Set(['--root', '--runroot']);

/** Takes the global options off the front of argv. */
export function splitGlobals(argv: string[]): { root?: string; runroot?: string; rest: string[] } {
  const out: { root?: string; runroot?: string; rest: string[] } = { rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!GLOBAL_WITH_VALUE.has(name)) break;
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new BoxError(`${name} needs a directory`);
    if (name === '--root') out.root = value;
    else out.runroot = value;
  }
  out.rest = argv.slice(i);
  return out;
}

function findCommand(argv: string[]): { entry: Entry; path: string[] } | undefined {
  let best: { entry: Entry; path: string[] } | undefined;
  for (const entry of COMMANDS) {
    for (const p of entry.paths) {
      if (p.every((w, i) => argv[i] === w) && (!best || p.length > best.path.length)) best = { entry, path: p };
    }
  }
  return best;
}

/** The help of a command group ("policy": build, test, ...), or undefined when `word` names none. */
function groupHelp(word: string): string | undefined {
  const rows = COMMANDS.filter((c) => !c.hidden).flatMap((c) => {
    const p = c.paths.find((q) => q.length === 2 && q[0] === word);
    return p ? [[p[1], c.load().summary.replace(/\.$/, '')]] : [];
  });
  if (!rows.length) return undefined;
  const w = Math.max(...rows.map((r) => r[0].length));
  return (
    [
      `Usage:  box ${word} COMMAND`,
      '',
      'Commands:',
      ...rows.map(([n, d]) => `  ${n.padEnd(w)}   ${d}`),
      '',
      `Run 'box ${word} COMMAND --help' for more on a command.`,
    ].join('\n') + '\n'
  );
}

function mainHelp(): string {
  const rows = COMMANDS.filter((c) => !c.hidden).map((c) => {
    const spec = c.load();
    return [c.paths[0].join(' '), spec.summary.replace(/\.$/, '')];
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  return (
    [
      'Usage:  box [--root DIR] [--runroot DIR] COMMAND',
      '',
      `box ${BOX_VERSION}: run Linux containers from one executable, no daemon.`,
      '',
      'Commands:',
      ...rows.map(([n, d]) => `  ${n.padEnd(w)}   ${d}`),
      '',
      'Global options (before the command):',
      '  --root DIR      storage root (default /var/lib/box, or $BOX_ROOT)',
      '  --runroot DIR   runtime root (default /run/box, or $BOX_RUNROOT)',
      '',
      "Run 'box COMMAND --help' for more on a command.",
    ].join('\n') + '\n'
  );
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    const g = splitGlobals(argv);
    globals.root = g.root;
    globals.runroot = g.runroot;
    const rest = g.rest;
    if (rest[0] === 'oci')
      return await (require('./oci') as typeof import('./oci')).runOci(rest.slice(1), 'box oci', g.root);
    if (rest.length === 0 || ['--help', '-h', 'help'].includes(rest[0])) {
      process.stdout.write(mainHelp());
      return 0;
    }
    if (rest[0] === '--version' || rest[0] === '-v') {
      process.stdout.write(`box ${BOX_VERSION}\n`);
      return 0;
    }
    const found = findCommand(rest);
    if (!found) {
      const group = groupHelp(rest[0]);
      if (!group) throw new BoxError(`unknown command "${rest[0]}" (see 'box --help')`);
      if (rest.length > 1 && !['--help', '-h', 'help'].includes(rest[1]))
        throw new BoxError(`unknown command "${rest[0]} ${rest[1]}" (see 'box ${rest[0]} --help')`);
      process.stdout.write(group);
      return 0;
    }
    const spec = found.entry.load();
    mark('command module loaded');
    const name = found.path.join(' ');
    const args = parseArgs(spec, rest.slice(found.path.length), name);
    mark('arguments parsed');
    if (args.flags.help) {
      process.stdout.write(commandHelp(spec));
      return 0;
    }
    return await spec.run(args);
  } catch (err) {
    if (err instanceof BoxError) {
      process.stderr.write(`box: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
