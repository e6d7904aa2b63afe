// RUN --mount's specs and --secret's flag as BuildKit reads them, and their one-line errors; the
// plain progress format, line by line.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/build/progress';
import { mountFroms, parseRunMounts, parseSecretFlag } from '../../src/build/run-mounts';

describe('parseRunMounts', () => {
  it("reads each type with BuildKit's defaults, targets relative to the working directory", () => {
    expect(
      parseRunMounts(
        [
          'type=cache,target=.cache,sharing=locked,uid=1000,mode=0700',
          'type=bind,source=src,dst=/src,rw',
          'type=tmpfs,target=/t,size=1m',
          'type=secret,id=tok',
          'source=ro-by-default,target=/plain',
        ],
        '/app',
      ),
    ).toEqual([
      {
        type: 'cache',
        target: '/app/.cache',
        id: '/app/.cache',
        sharing: 'locked',
        from: undefined,
        source: '/',
        readOnly: false,
        mode: 0o700,
        uid: 1000,
        gid: 0,
      },
      { type: 'bind', target: '/src', from: undefined, source: '/src', readOnly: false },
      { type: 'tmpfs', target: '/t', size: 1 << 20 },
      { type: 'secret', target: '/run/secrets/tok', id: 'tok', required: false, mode: 0o400, uid: 0, gid: 0 },
      { type: 'bind', target: '/plain', from: undefined, source: '/ro-by-default', readOnly: true },
    ]);
  });

  it('refuses bad specs in one line naming the spec and the fix', () => {
    const err =
      (spec: string, workdir = '/') =>
      () =>
        parseRunMounts([spec], workdir);
    expect(err('type=ssh,target=/x')).toThrow('RUN --mount=type=ssh,target=/x: unknown type "ssh": use cache, bind');
    expect(err('type=tmpfs,target=/x,id=a')).toThrow('"id" is not an option of type=tmpfs: it takes target, size');
    expect(err('type=cache')).toThrow('target is required: add target=/path');
    expect(err('type=cache,target=/')).toThrow("invalid specification: destination can't be '/'");
    expect(err('type=tmpfs,target=/proc/kcore')).toThrow('/proc/kcore is inside /proc, which box mounts itself');
    expect(err('type=constructor,target=/x')).toThrow('unknown type "constructor"');
    expect(err('type=cache,target=/c,sharing=maybe')).toThrow('sharing=maybe: use shared, private or locked');
    expect(err('type=cache,target=/c,mode=999')).toThrow('mode=999: use an octal mode such as 0755');
    expect(err('type=secret,target=/s')).toThrow('id is required: add id=NAME');
    expect(err('type=bind,target=/x,rw=yes')).toThrow('rw=yes: use rw=true or rw=false');
    expect(err('type=cache,target=../../x', '/a')).toThrow(
      "target ../../x: it climbs out of the image's root file system with ..: give a path inside it",
    );
    expect(err('type=bind,source=a/../../b,target=/x')).toThrow('source a/../../b: it climbs out of its root with ..');
    expect(() => parseRunMounts(['type=tmpfs,target=/x', 'type=cache,target=/x/'], '/')).toThrow(
      'RUN --mount: two mounts on /x: give each its own target',
    );
    expect(() => parseRunMounts(['type=cache,target=/a,id=c', 'type=cache,target=/b,id=c'], '/')).toThrow(
      'RUN --mount: the cache c is mounted twice: mount it once',
    );
  });

  it('names the stages and images the mounts read', () => {
    expect(
      mountFroms(['type=bind,from=build,target=/b', 'type=cache,target=/c,from=seed', 'type=tmpfs,target=/t']),
    ).toEqual(['build', 'seed']);
  });
});

describe('parseSecretFlag', () => {
  it('takes src= (or source=) as a file, env= as a variable, id= alone as the variable of that name', () => {
    expect(parseSecretFlag('id=a,src=/run/a.txt')).toEqual({ id: 'a', src: '/run/a.txt' });
    expect(parseSecretFlag('id=a,source=/x,type=file')).toEqual({ id: 'a', src: '/x' });
    expect(parseSecretFlag('id=a,env=TOKEN')).toEqual({ id: 'a', env: 'TOKEN' });
    expect(parseSecretFlag('id=GH_TOKEN')).toEqual({ id: 'GH_TOKEN', env: 'GH_TOKEN' });
  });

  it('refuses what it cannot read', () => {
    expect(() => parseSecretFlag('src=/x')).toThrow('invalid --secret "src=/x": id is required: id=ID,src=FILE');
    expect(() => parseSecretFlag('id=a,src=/x,env=Y')).toThrow('give src= or env=, not both');
    expect(() => parseSecretFlag('id=a,path=/x')).toThrow('unknown field path');
    expect(() => parseSecretFlag('id=')).toThrow('id needs a value');
  });
});

describe('Progress (plain)', () => {
  it('numbers the steps, prefixes each output line (a partial one at the end too) and ends with DONE or CACHED', () => {
    let out = '';
    const p = new Progress('plain', (s) => {
      out += s;
    });
    const a = p.step('', 2, 3, 'RUN make');
    const b = p.step('tools', 1, 2, 'COPY x /x');
    a.output(Buffer.from('compiling\nlinking'));
    b.cached();
    a.output(Buffer.from(' done\nlast'));
    a.done();
    expect(out).toMatch(
      /^#1 \[2\/3\] RUN make\n#2 \[tools 1\/2\] COPY x \/x\n#1 [\d.]+ compiling\n#2 CACHED\n#1 [\d.]+ linking done\n#1 [\d.]+ last\n#1 DONE [\d.]+s\n$/,
    );
  });
});
