// The command line: global options (--root, --runroot) come before the command, as with docker;
// each command group lives in its own file. Parse errors become one line and exit code 125.
import { Cli } from 'clipanion';
import { BoxError } from '../errors';
import { BOX_VERSION } from '../version';
import { ImagesCommand, ImportCommand, RmiCommand } from './images';
import { PsCommand, RmCommand } from './containers';
import { RunCommand } from './run';
import { InfoCommand, VersionCommand } from './system';
import { globals } from './context';

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

export async function runCli(argv: string[]): Promise<number> {
  let command;
  const cli = new Cli({ binaryLabel: 'box', binaryName: 'box', binaryVersion: BOX_VERSION, enableColors: false });
  for (const c of [RunCommand, ImportCommand, ImagesCommand, RmiCommand, PsCommand, RmCommand, VersionCommand, InfoCommand]) cli.register(c);
  try {
    const g = splitGlobals(argv);
    globals.root = g.root;
    globals.runroot = g.runroot;
    if (g.rest.length === 0 || g.rest[0] === '--help' || g.rest[0] === '-h' || g.rest[0] === 'help') {
      process.stdout.write(cli.usage(null));
      return 0;
    }
    command = cli.process(g.rest);
  } catch (err) {
    process.stderr.write(`box: ${parseErrorLine(err)}\n`);
    return 125;
  }
  command.context = { ...Cli.defaultContext };
  if ((command as { help?: boolean }).help) {
    process.stdout.write(cli.usage(command.constructor as never, { detailed: true }));
    return 0;
  }
  try {
    return (await command.validateAndExecute()) ?? 0;
  } catch (err) {
    if (err instanceof BoxError) {
      process.stderr.write(`box: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

function parseErrorLine(err: unknown): string {
  if (err instanceof BoxError) return err.message;
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n').find((l) => l.trim()) ?? msg;
  const unknown = /Unsupported option name \("?([^")]+)"?\)/.exec(msg);
  if (unknown) return `unknown flag: ${unknown[1]} (see 'box COMMAND --help')`;
  if (/Command not found/.test(msg)) return `unknown command: see 'box --help' for the commands`;
  return `${first.replace(/^Error: /, '')} (see 'box COMMAND --help')`;
}
