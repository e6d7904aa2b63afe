import { describe, expect, it } from 'vitest';
import { CommandSpec, commandHelp, parseArgs } from '../../src/cli/args';
import { splitGlobals } from '../../src/cli/index';
import { requestFrom, runCommand } from '../../src/cli/container/run';
import { RUN_FLAGS } from '../../src/runtime/run-flags';

const spec: CommandSpec = {
  paths: [['run']],
  summary: 'test',
  positionals: [{ name: 'IMAGE' }],
  stopAfterPositionals: true,
  flags: [
    { names: ['--env', '-e'], key: 'env', kind: 'list', description: '' },
    { names: ['--tty', '-t'], key: 'tty', kind: 'bool', description: '' },
    { names: ['--interactive', '-i'], key: 'interactive', kind: 'bool', description: '' },
    { names: ['--memory', '-m'], key: 'memory', kind: 'string', description: '' },
    { names: ['--rm'], key: 'rm', kind: 'bool', description: '' },
  ],
  run: async () => 0,
};

describe('command-line parsing', () => {
  it('parses Docker-style flags and stops at the image', () => {
    const a = parseArgs(
      spec,
      ['-it', '-e', 'A=1', '-eB=2', '--env=C=3', '-m', '256m', '--rm=false', 'img', 'sh', '-c', 'echo -e x --rm'],
      'run',
    );
    expect(a.flags).toEqual({ interactive: true, tty: true, env: ['A=1', 'B=2', 'C=3'], memory: '256m', rm: false });
    expect(a.positionals).toEqual(['img']);
    expect(a.rest).toEqual(['sh', '-c', 'echo -e x --rm']);
  });
  it('takes a value that looks like a flag when the flag needs one (--cpus -1)', () => {
    expect(parseArgs(spec, ['--memory', '-1', 'img'], 'run').flags.memory).toBe('-1');
  });
  it('refuses unknown flags, missing values and missing positionals in one line', () => {
    expect(() => parseArgs(spec, ['--bogus', 'img'], 'run')).toThrow(
      /^unknown flag: --bogus \(see 'box run --help'\)$/,
    );
    expect(() => parseArgs(spec, ['-x', 'img'], 'run')).toThrow(/unknown shorthand flag: 'x'/);
    expect(() => parseArgs(spec, ['img', '--memory'], 'run')).not.toThrow();
    expect(() => parseArgs(spec, ['--memory'], 'run')).toThrow(/needs a value/);
    expect(() => parseArgs(spec, [], 'run')).toThrow(/needs IMAGE/);
    expect(() => parseArgs(spec, ['--rm=maybe', 'img'], 'run')).toThrow(/true or false/);
  });
  it('takes global options off the front only', () => {
    expect(splitGlobals(['--root', '/r', '--runroot=/x', 'run', '--root', 'y'])).toEqual({
      root: '/r',
      runroot: '/x',
      rest: ['run', '--root', 'y'],
    });
    expect(() => splitGlobals(['--root'])).toThrow(/needs a directory/);
  });
  it('renders help from the same table', () => {
    const help = commandHelp(spec);
    expect(help).toContain('Usage:  box run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    expect(help).toMatch(/-e, --env string \(repeatable\)/);
    expect(help).toMatch(/-t, --tty/);
  });
});

describe('the run flag table', () => {
  it('hands every flag of run and create to the request by its key, with no list to keep in step', () => {
    // A value for each flag as typed: adding an entry to RUN_FLAGS needs no change here.
    const argv = RUN_FLAGS.flatMap((f) => (f.kind === 'bool' ? [f.names[0]] : [f.names[0], `${f.key}-value`]));
    const req = requestFrom(parseArgs(runCommand, [...argv, 'img', 'true'], 'run'));
    for (const f of RUN_FLAGS) {
      expect(req.flags[f.key], f.names[0]).toEqual(
        f.kind === 'bool' ? true : f.kind === 'list' ? [`${f.key}-value`] : `${f.key}-value`,
      );
    }
    expect(req.command).toEqual(['true']);
  });

  it('gives flags not typed their defaults: false, an empty list, absent', () => {
    const req = requestFrom(parseArgs(runCommand, ['img'], 'run'));
    expect(req.flags.rm).toBe(false);
    expect(req.flags.env).toEqual([]);
    expect('memory' in req.flags).toBe(false);
    expect(req.admission).toEqual({
      policies: [],
      args: [],
      timeout: undefined,
      failure: undefined,
      noDefaults: false,
    });
  });
});
