// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${V} here is Dockerfile syntax, not a template
// The Dockerfile parser and Docker's variable substitution, against Docker's documented behaviour.
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/build/dockerfile';
import { word, words } from '../../src/build/substitute';

describe('parseDockerfile', () => {
  it('joins continuations, drops comments (also inside a continuation) and reads both forms', () => {
    const df = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        '# a comment',
        'FROM busybox AS base',
        'RUN echo a \\',
        '  # inside',
        '  && echo b',
        'CMD ["sh", "-c", "x"]',
        'CMD echo hi',
      ].join('\n'),
    );
    expect(df.instructions.map((x) => [x.keyword, x.line])).toEqual([
      ['FROM', 3],
      ['RUN', 4],
      ['CMD', 7],
      ['CMD', 8],
    ]);
    expect(df.instructions[1].args).toBe('echo a   && echo b');
    expect(df.instructions[2].json).toEqual(['sh', '-c', 'x']);
    expect(df.instructions[3].json).toBeUndefined();
  });

  it('honours # escape=` and only at the top', () => {
    const df = parseDockerfile('# escape=`\nFROM scratch\nRUN a `\n b\n');
    expect(df.escape).toBe('`');
    expect(df.instructions[1].args).toBe('a  b');
    const late = parseDockerfile('FROM scratch\n# escape=`\nRUN a `\n');
    expect(late.escape).toBe('\\');
  });

  it('reads flags and heredocs', () => {
    const df = parseDockerfile(
      'FROM x\nCOPY --from=build --chown=1:2 /a /b\nRUN <<EOF\necho one\necho two\nEOF\nCMD x\n',
    );
    expect(df.instructions[1].flags).toEqual({ from: 'build', chown: '1:2' });
    expect(df.instructions[1].args).toBe('/a /b');
    expect(df.instructions[2].heredocs).toEqual([
      { name: 'EOF', body: 'echo one\necho two\n', stripTabs: false, quoted: false },
    ]);
    expect(df.instructions[3].line).toBe(7);
  });

  it('names the file, the line and the fix for an unknown instruction or flag', () => {
    expect(() => parseDockerfile('FROM x\n\nRUNN echo\n', 'app/Dockerfile')).toThrow(
      /^app\/Dockerfile:3: unknown instruction "RUNN": use one of FROM, ARG/,
    );
    expect(() => parseDockerfile('FROM x\nCOPY --form=a b c\n')).toThrow(
      /Dockerfile:2: unknown flag --form for COPY: it takes --from/,
    );
    expect(() => parseDockerfile('RUN x\n')).toThrow(/Dockerfile:1: RUN before FROM/);
    expect(() => parseDockerfile('FROM x\nRUN <<EOF\nabc\n')).toThrow(/Dockerfile:2: heredoc <<EOF has no end/);
  });
});

describe('substitution', () => {
  const vars = new Map([
    ['A', 'one'],
    ['E', ''],
  ]);
  it('expands $V, ${V}, defaults and alternatives as Docker does', () => {
    expect(word('$A-${A}', vars)).toBe('one-one');
    expect(word('${B:-dflt} ${E:-empty} ${E-unset}', vars)).toBe('dflt empty ');
    expect(word('${A:+alt}|${B:+alt}|${E+set}', vars)).toBe('alt||set');
    expect(word('${B:-$A}', vars)).toBe('one');
  });
  it('keeps single quotes literal, groups double quotes, honours the escape character', () => {
    expect(words(`a=$A b='$A' c="x $A" d=\\$A`, vars)).toEqual(['a=one', 'b=$A', 'c=x one', 'd=$A']);
  });
  it('reports a bad substitution', () => {
    expect(() => word('${A:?x}', vars)).toThrow(/bad substitution/);
  });
});

describe('.dockerignore rules', () => {
  it('matches segments, ** and directories; the last matching line decides', async () => {
    const { IgnoreRules, matchSegment } = await import('../../src/build/patterns');
    const rules = new IgnoreRules('# comment\n*.log\nbuild/\n**/secret*\n!keep.log\nnode_modules\n');
    expect(rules.excludes('a.log')).toBe(true);
    expect(rules.excludes('keep.log')).toBe(false);
    expect(rules.excludes('sub/a.log')).toBe(false); // * stays in one segment
    expect(rules.excludes('build/out/x.o')).toBe(true); // a directory excludes its content
    expect(rules.excludes('deep/er/secret.txt')).toBe(true);
    expect(rules.excludes('secret.txt')).toBe(true);
    expect(rules.excludes('src/main.c')).toBe(false);
    expect(rules.excludes('node_modules/x/y')).toBe(true);
    expect(matchSegment('f[a-c]?.txt', 'fb1.txt')).toBe(true);
    expect(matchSegment('f[!a-c]*', 'fb')).toBe(false);
  });
});
