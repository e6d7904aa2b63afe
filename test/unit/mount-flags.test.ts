// Parsing -v, --mount and --tmpfs (src/volume/mount-flags.ts): what each form means, as Docker
// reads it. Refusals are tested end to end in test/integration/volumes.test.ts.
import { describe, expect, it } from 'vitest';
import {
  parseMountFlag,
  parseTmpfsFlag,
  parseVolumeFlag,
  parseVolumesFrom,
  tmpfsMountArgs,
} from '../../src/volume/mount-flags';

describe('-v', () => {
  it.each([
    ['/data', { type: 'volume', source: '', target: '/data', anonymous: true }],
    ['/data:ro', { type: 'volume', source: '', target: '/data', readOnly: true, anonymous: true }],
    ['db:/var/lib/db', { type: 'volume', source: 'db', target: '/var/lib/db', readOnly: false }],
    ['db:/x/:ro,nocopy', { type: 'volume', source: 'db', target: '/x', readOnly: true, noCopy: true }],
    [
      '/srv//site/:/site:rslave',
      { type: 'bind', source: '/srv/site/', target: '/site', propagation: 'rslave', createSource: true },
    ],
    ['/srv:/s:rw,z', { type: 'bind', source: '/srv', target: '/s', readOnly: false }],
  ])('%s', (raw, want) => {
    expect(parseVolumeFlag(raw)).toMatchObject({ ...want, origin: 'v', spec: raw });
  });

  it('takes ./x and ../x as host paths relative to the current directory', () => {
    expect(parseVolumeFlag('./site:/site').source).toBe(`${process.cwd()}/site`);
    expect(parseVolumeFlag('..:/up').source).toBe(require('node:path').dirname(process.cwd()));
  });
});

describe('--mount', () => {
  it('defaults to a volume; takes Docker’s aliases and quoted fields', () => {
    expect(parseMountFlag('src=vv,dst=/d,ro')).toMatchObject({
      type: 'volume',
      source: 'vv',
      target: '/d',
      readOnly: true,
    });
    expect(parseMountFlag('target=/d')).toMatchObject({ type: 'volume', source: '', anonymous: true });
    expect(
      parseMountFlag('type=volume,source=vv,target=/d,"volume-opt=o=size=1m,uid=1",volume-opt=type=tmpfs'),
    ).toMatchObject({
      volumeOptions: { o: 'size=1m,uid=1', type: 'tmpfs' },
    });
    expect(parseMountFlag('type=bind,source=/a,target=/b,readonly=false,bind-nonrecursive')).toMatchObject({
      type: 'bind',
      readOnly: false,
      nonRecursive: true,
    });
    expect(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770').tmpfsOptions).toBe(
      'size=1048576,mode=1770',
    );
  });
});

describe('--tmpfs and --volumes-from', () => {
  it('takes tmpfs options as mount flags and data, with Docker’s defaults', () => {
    expect(parseTmpfsFlag('/run:size=64m,ro')).toMatchObject({
      target: '/run',
      readOnly: true,
      tmpfsOptions: 'size=64m,ro',
    });
    expect(tmpfsMountArgs('', 't')).toEqual({ flags: 0x2 | 0x4 | 0x8, data: '' });
    expect(tmpfsMountArgs('exec,size=1m,mode=700,uid=1000', 't')).toEqual({
      flags: 0x2 | 0x4,
      data: 'size=1m,mode=700,uid=1000',
    });
    expect(parseVolumesFrom('web:ro')).toEqual({ container: 'web', mode: 'ro' });
    expect(parseVolumesFrom('web')).toEqual({ container: 'web', mode: undefined });
  });
});
