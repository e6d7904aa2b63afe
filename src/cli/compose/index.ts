// `box compose [OPTIONS] COMMAND`: multi-container applications from compose files. The project
// options come before the subcommand (as with docker compose); each subcommand is its own
// CommandSpec, loaded only when it runs, and parsed with box's parser.
import { BoxError } from '../../errors';
import { CommandSpec, commandHelp, list, parseArgs, str } from '../args';
import { COMPOSE_FLAGS, composeOptions } from './context';

/* eslint-disable @typescript-eslint/no-require-imports */
const SUBCOMMANDS: Record<string, () => CommandSpec> = {
  up: () => require('./up').upCommand,
  down: () => require('./down').downCommand,
  ps: () => require('./ps').psCommand,
  logs: () => require('./logs').logsCommand,
  start: () => require('./verbs').startCommand,
  stop: () => require('./verbs').stopCommand,
  restart: () => require('./verbs').restartCommand,
  kill: () => require('./verbs').killCommand,
  rm: () => require('./verbs').rmCommand,
  pause: () => require('./verbs').pauseCommand,
  unpause: () => require('./verbs').unpauseCommand,
  create: () => require('./more').createCommand,
  exec: () => require('./more').execCommand,
  run: () => require('./more').runCommand,
  top: () => require('./more').topCommand,
  port: () => require('./more').portCommand,
  events: () => require('./more').composeEventsCommand,
  images: () => require('./more').imagesCommand,
  pull: () => require('./more').pullCommand,
  wait: () => require('./more').waitCommand,
  ls: () => require('./more').lsCommand,
  version: () => require('./more').versionCommand,
  config: () => require('./config').configCommand,
};

export const composeCommand: CommandSpec = {
  paths: [['compose']],
  summary:
    "Run multi-container applications from compose files, as docker compose does ('box compose help': commands).",
  flags: COMPOSE_FLAGS,
  positionals: [{ name: 'COMMAND', optional: true }],
  stopAfterPositionals: true,
  examples: ['box compose up -d --wait', 'box compose -f a.yaml -f b.yaml config', 'box compose down -v'],
  async run(a) {
    const name = a.positionals[0];
    if (name === undefined || name === 'help') {
      process.stdout.write(composeHelp());
      return 0;
    }
    const load = SUBCOMMANDS[name];
    if (!load) throw new BoxError(`unknown command "compose ${name}" (see 'box compose --help')`);
    composeOptions.files = list(a, 'file');
    composeOptions.projectName = str(a, 'projectName');
    composeOptions.projectDirectory = str(a, 'projectDirectory');
    composeOptions.envFiles = list(a, 'envFile');
    composeOptions.profiles = list(a, 'profile');
    // Every container start listens for the signals it forwards while its helper starts: twenty
    // at once are no leak, and Node's warning past ten listeners would only be noise on stderr.
    process.setMaxListeners(0);
    const spec = load();
    const args = parseArgs(spec, a.rest, `compose ${name}`);
    if (args.flags.help) {
      process.stdout.write(commandHelp(spec));
      return 0;
    }
    return spec.run(args);
  },
};

function composeHelp(): string {
  const rows = Object.entries(SUBCOMMANDS).map(([n, load]) => [n, load().summary.replace(/\.$/, '')]);
  const w = Math.max(...rows.map((r) => r[0].length));
  const help = commandHelp(composeCommand).replace(/^Usage: .*$/m, 'Usage:  box compose [OPTIONS] COMMAND [ARG...]');
  return help + ['', 'Commands:', ...rows.map(([n, d]) => `  ${n.padEnd(w)}   ${d}`), ''].join('\n');
}
