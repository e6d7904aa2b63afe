// Go's text/template and Docker's --format, checked against the examples in Go's documentation
// and Docker's ("Format command and log output", docker ps / inspect / images reference pages).
import { describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { goStruct, headerRow, outputFormat } from '../../src/cli/template';
import { DOCKER_FUNCS, FUNC_NAMES } from '../../src/util/go-template/docker';
import { BUILTINS, execute } from '../../src/util/go-template/exec';
import { parse, TemplateError } from '../../src/util/go-template/parse';
import { tabwrite } from '../../src/util/go-template/tabwriter';

const NAMES = new Set([...Object.keys(BUILTINS), ...FUNC_NAMES]);
const run = (t: string, data: unknown = {}) => execute(parse(t, NAMES), data, { funcs: DOCKER_FUNCS });

describe("Go's text/template", () => {
  // The pipelines of Go's documentation that all print "output" in quotes.
  it.each([
    '{{"\\"output\\""}}',
    '{{`"output"`}}',
    '{{printf "%q" "output"}}',
    '{{"output" | printf "%q"}}',
    '{{printf "%q" (print "out" "put")}}',
    '{{"put" | printf "%s%s" "out" | printf "%q"}}',
    '{{"output" | printf "%s" | printf "%q"}}',
    '{{with "output"}}{{printf "%q" .}}{{end}}',
    '{{with $x := "output" | printf "%q"}}{{$x}}{{end}}',
    '{{with $x := "output"}}{{printf "%q" $x}}{{end}}',
    '{{with $x := "output"}}{{$x | printf "%q"}}{{end}}',
  ])('%s prints "output"', (t) => {
    expect(run(t)).toBe('"output"');
  });

  it('trims white space at {{- and -}} (Go: "23 < 45" becomes "23<45")', () => {
    expect(run('{{23 -}} < {{- 45}}')).toBe('23<45');
    expect(run('a {{/* a comment */}} b')).toBe('a  b');
    expect(run('a {{- /* a comment */ -}} b')).toBe('ab');
  });

  it('reads fields, nested fields, variables, index and methods', () => {
    const data = {
      Names: 'web',
      State: { Status: 'running', Pid: 42 },
      Args: ['-f', 'x'],
      Config: { Labels: { 'com.example.version': '1.0' } },
      Label: (k: string) => (k === 'a' ? 'b' : ''),
    };
    expect(run('{{.Names}} {{.State.Status}} {{.State.Pid}}', data)).toBe('web running 42');
    expect(run('{{index .Config.Labels "com.example.version"}}|{{index .Config.Labels "nope"}}|', data)).toBe('1.0||');
    expect(run('{{index .Args 1}} {{len .Args}} {{slice .Names 1}}', data)).toBe('x 2 eb');
    expect(run('{{.Label "a"}}', data)).toBe('b');
    expect(run('{{$s := .State}}{{$s.Status}} {{$.Names}}', data)).toBe('running web');
    expect(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}')).toBe('2');
    expect(run('{{.}}', { b: 2, a: [1, 'x'] })).toBe('map[a:[1 x] b:2]');
    expect(run('{{(index .Args 0).x}}', { Args: [{ x: 'y' }] })).toBe('y');
  });

  it('runs if / else if / else, with / else, range / else, break and continue', () => {
    const t = '{{if eq .N 1}}one{{else if eq .N 2}}two{{else}}many{{end}}';
    expect([1, 2, 3].map((N) => run(t, { N }))).toEqual(['one', 'two', 'many']);
    expect(run('{{with .X}}[{{.}}]{{else}}none{{end}}', { X: '' })).toBe('none');
    expect(run('{{with .X}}[{{.}}]{{end}}', { X: 'x' })).toBe('[x]');
    expect(run('{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}', { L: ['a', 'b'] })).toBe('0=a 1=b ');
    expect(run('{{range .L}}{{.}}{{else}}empty{{end}}', { L: [] })).toBe('empty');
    expect(run('{{range $k, $v := .M}}{{$k}}:{{$v}};{{end}}', { M: { b: 2, a: 1 } })).toBe('a:1;b:2;');
    const loop = '{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}';
    expect(run(loop, { L: [1, 2, 3, 4, 5] })).toBe('13');
    expect(run('{{define "x"}}<{{.}}>{{end}}{{template "x" .A}}', { A: 'a' })).toBe('<a>');
  });

  it('compares with eq, ne, lt, le, gt, ge and combines with and, or, not', () => {
    expect(run('{{eq 1 2 3 1}} {{ne "a" "b"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe(
      'true true true true true false',
    );
    expect(run('{{and 1 0 "x"}} {{or 0 "" "x"}} {{not 0}} {{and .A .B}}', { A: 'a', B: 'b' })).toBe('0 x true b');
    // `or` stops at its first true value: the missing field after it is never read
    expect(run('{{or "x" .Missing}}', {})).toBe('x');
  });

  it('formats with printf and print as Go does', () => {
    expect(run('{{printf "%5s|%-5s|%05d|%x|%.2f|%v|%t|%%" "a" "b" 42 255 3.14159 .L true}}', { L: [1, 2] })).toBe(
      '    a|b    |00042|ff|3.14|[1 2]|true|%',
    );
    expect(run('{{print 1 2 "a" "b" 3}}')).toBe('1 2ab3');
    expect(run('{{printf "%d"}} {{printf "%d" "x"}}')).toBe('%!d(MISSING) %!d(string=x)');
  });

  it('reports errors as Go does, pointing at the line, column and action', () => {
    const err = (t: string, data: unknown = {}) => {
      try {
        run(t, data);
      } catch (e) {
        expect(e).toBeInstanceOf(TemplateError);
        return (e as Error).message;
      }
      throw new Error(`no error for ${t}`);
    };
    expect(err('{{.Foo}}', goStruct('container', { ID: 'x' }))).toBe(
      'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type container',
    );
    expect(err('x\n {{.A.B}}', { A: {} })).toBe('template: :2:3: executing "" at <.A.B>: map has no entry for key "B"');
    expect(err('{{.ID')).toBe('template: :1: unclosed action');
    expect(err('{{if .A}}x')).toBe('template: :1: unexpected EOF');
    expect(err('{{nosuch .A}}')).toBe('template: :1: function "nosuch" not defined');
    expect(err('{{with $x := 1}}{{$x}}{{end}}{{$x}}')).toBe('template: :1: undefined variable "$x"');
    expect(err('{{$y = 1}}')).toBe('template: :1: undefined variable "$y"');
    expect(err('{{$x := 1}}{{define "t"}}{{$x}}{{end}}')).toBe('template: :1: undefined variable "$x"');
    expect(err('{{end}}')).toBe('template: :1: unexpected {{end}}');
    expect(err('{{upper 5}}')).toMatch(
      /at <upper>: error calling upper: wrong type for value; expected string; got int$/,
    );
    expect(err('{{lt true false}}')).toMatch(/error calling lt: invalid type for comparison$/);
    expect(err('{{eq 1 "1"}}')).toMatch(/error calling eq: incompatible types for comparison$/);
  });
});

describe("Docker's template functions", () => {
  const c = { Name: '/My_Container', Image: 'ubuntu:latest', Args: ['-c', 'echo hi'], Repository: 'alpine' };
  it.each([
    ['{{join .Args " , "}}', '-c , echo hi'],
    ['{{json .Args}}', '["-c","echo hi"]'],
    ['{{json .}}', JSON.stringify(c)],
    ['{{lower .Name}}', '/my_container'],
    ['{{upper .Name}}', '/MY_CONTAINER'],
    ['{{split .Image ":"}}', '[ubuntu latest]'],
    ['{{title "hello world-wide web"}}', 'Hello World-Wide Web'],
    ['{{pad .Repository 5 10}}|', '     alpine          |'],
    ['{{pad "" 5 10}}|', '|'],
    ['{{truncate .Repository 3}} {{truncate .Repository 15}}', 'alp alpine'],
    ['{{range .Args}}{{println .}}{{end}}', '-c\necho hi\n'],
    ['{{json "<a&b>"}}', '"<a&b>"'],
  ])('%s', (t, want) => {
    expect(run(t, c)).toBe(want);
  });
});

describe("Docker's --format", () => {
  const rows = [
    goStruct('container', { ID: 'a87ecb4f327c', Labels: 'com.docker.swarm.node=ubuntu,com.docker.swarm.storage=ssd' }),
    goStruct('container', { ID: '01946d9d34d8', Labels: '' }),
  ];
  const header = headerRow('container', { ID: 'CONTAINER ID', Labels: 'LABELS', 'Label()': 'LABEL' });

  it('lines up a table under its header row with tabs written out as \\t (docker ps --format "table ...")', () => {
    expect(outputFormat('table {{.ID}}\\t{{.Labels}}').render(rows, header)).toBe(
      'CONTAINER ID   LABELS\n' +
        'a87ecb4f327c   com.docker.swarm.node=ubuntu,com.docker.swarm.storage=ssd\n' +
        '01946d9d34d8   \n',
    );
    // header functions give the header text back: the column is still headed CONTAINER ID
    expect(outputFormat('table {{lower .ID}}').render([], header)).toBe('CONTAINER ID\n');
  });

  it('runs a plain template once per row, json as {{json .}}, table as the default table', () => {
    expect(outputFormat('{{.ID}}: {{.Labels}}').render(rows)).toBe(`a87ecb4f327c: ${rows[0].Labels}\n01946d9d34d8: \n`);
    expect(outputFormat('json').render(rows.slice(1))).toBe('{"ID":"01946d9d34d8","Labels":""}\n');
    expect(outputFormat('table', 'table {{.ID}}').table).toBe(true);
  });

  it('escapes the control characters it prints but newlines and tabs; json stays exact', () => {
    const evil = goStruct('container', { ID: 'x', Labels: 'a\x1b[2Jb\r\u202e\tc' });
    expect(outputFormat('{{.Labels}}|{{json .Labels}}').render([evil])).toBe(
      'a\\e[2Jb\\r\\u202e\tc|"a\\u001b[2Jb\\r\\u202e\\tc"\n',
    );
  });

  it('makes a template error a one-line BoxError with exit code 1, naming the fields', () => {
    const fail = (f: string) => {
      try {
        outputFormat(f).render(rows);
      } catch (e) {
        expect(e).toBeInstanceOf(BoxError);
        expect((e as BoxError).exitCode).toBe(1);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(fail('{{.Nmes}}')).toBe(
      'template parsing error: template: :1:2: executing "" at <.Nmes>: can\'t evaluate field Nmes in type container' +
        ' (its fields: .ID .Labels)',
    );
    expect(fail('{{.ID')).toBe('template parsing error: template: :1: unclosed action');
    const nested = goStruct('event', { Actor: goStruct('actor', { ID: 'x' }) });
    expect(() => outputFormat('{{.Actor.Nope}}').render([nested])).toThrow(/in type actor$/);
  });

  it("aligns columns as Go's tabwriter: minimum 10, padding 3, a shorter line ends a column", () => {
    expect(tabwrite('a\tb\tc\nlonger-cell\tx\n')).toBe('a             b         c\nlonger-cell   x\n');
    expect(tabwrite('a\tb\nno tabs here\nc\td\n')).toBe('a         b\nno tabs here\nc         d\n');
  });
});
