// `box completion bash|zsh|fish`: each script loaded by the real shell completes a container name
// as a user types it (bash and zsh interactively on a pseudo-terminal, fish through its own
// completion engine), and commands, subcommands, flags and image names.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, REPO, runDetached } from '../support/box';

describe('box completion', () => {
  const t = busyboxRoot();
  const env = () => ({
    PATH: `${path.dirname(BOX)}:/usr/bin:/bin`,
    BOX_ROOT: t.root,
    HOME: t.dir,
    TERM: 'xterm',
  });
  const script = (shell: string) => {
    const r = t.box(['completion', shell]);
    expect(r.status).toBe(0);
    const file = path.join(t.dir, `box.${shell}`);
    fs.writeFileSync(file, r.stdout);
    return file;
  };
  /** An interactive shell on a pseudo-terminal, fed `steps` ([text to wait for, keys to type]). */
  const typeInto = (cmd: string[], steps: [string, string][]) => {
    const driver = path.join(REPO, 'test/support/pty-driver.py');
    const args = [driver, '--timeout', '20', ...steps.flatMap(([w, k]) => ['--step', w, k]), '--', ...cmd];
    const r = spawnSync('python3', args, { encoding: 'utf8', env: env() });
    return JSON.parse(r.stdout) as { output: string; status: number };
  };
  let id = '';

  beforeAll(() => {
    id = runDetached(t, '--name', 'webserver-1', 'busybox', 'sleep', '300');
  });

  it('bash: the script completes a container name typed at a real prompt', () => {
    const rc = path.join(t.dir, 'bashrc');
    fs.writeFileSync(rc, `PS1='READY> '\nsource ${script('bash')}\n`);
    const r = typeInto(
      ['bash', '--noprofile', '--rcfile', rc, '-i'],
      [
        ['READY>', 'box rm webs\t'],
        ['box rm webserver-1 ', '\x15exit\n'],
      ],
    );
    expect(r.output).toContain('box rm webserver-1 ');
    expect(r.status).toBe(0);
  });

  it('bash: commands, subcommands, flags and image names', () => {
    const complete = (...words: string[]) => {
      const line = `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`;
      const r = spawnSync('bash', ['-c', `source ${script('bash')}; ${line}; _box; echo "\${COMPREPLY[*]}"`], {
        encoding: 'utf8',
        env: env(),
      });
      return r.stdout.trim().split(' ').filter(Boolean).sort();
    };
    expect(complete('box', 'ins')).toEqual(['inspect']);
    expect(complete('box', 'container', 'pr')).toEqual(['prune']);
    expect(complete('box', 'system', 'd')).toEqual(['df']);
    expect(complete('box', 'ps', '--fi')).toEqual(['--filter']);
    expect(complete('box', 'run', 'busy')).toEqual(['busybox:latest']);
    expect(complete('box', 'inspect', 'web')).toEqual(['webserver-1']);
    expect(complete('box', '--root', t.root, 'stop', 'w')).toEqual(['webserver-1']);
    expect(complete('box', 'ps', '--format', 'w')).toEqual([]); // a flag's value, not a name
  });

  it('zsh: the script completes a container name typed at a real prompt', () => {
    const file = script('zsh');
    const r = typeInto(
      ['zsh', '-f', '-i'],
      [
        ['# ', `autoload -Uz compinit && compinit -u && source ${file} && PS1=RE''ADY'> '\n`],
        ['READY> ', 'box stop webs\t'],
        ['box stop webserver-1', '\x15exit\n'],
      ],
    );
    expect(r.output).toContain('box stop webserver-1');
    expect(r.status).toBe(0);
  });

  it('fish: the script completes container names, subcommands and flags', () => {
    const file = script('fish');
    const complete = (line: string) => {
      const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`], {
        encoding: 'utf8',
        env: env(),
      });
      expect(r.stderr).toBe('');
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0])
        .sort();
    };
    expect(complete('box rm webs')).toEqual(['webserver-1']);
    expect(complete('box container ki')).toEqual(['kill']);
    expect(complete('box ps --fo')).toEqual(['--format']);
    expect(complete('box image inspect busy')).toEqual(['busybox:latest']);
    t.box(['rm', '-f', id]);
  });

  it('an unknown shell is one line, exit 125', () => {
    const r = t.box(['completion', 'tcsh']);
    expect(r.stderr).toBe('box: unknown shell "tcsh": use bash, zsh or fish\n');
    expect(r.status).toBe(125);
  });
});
