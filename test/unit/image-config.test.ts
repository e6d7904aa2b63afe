// parseImageConfig: an image's config is checked when the image comes in, so that the fields box
// reads later (Env, Cmd, Labels, StopSignal, ...) can never have a type box does not expect.
import { describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { parseImageConfig } from '../../src/image/config';

const parse = (config: unknown) => parseImageConfig(Buffer.from(JSON.stringify(config)), 'img');
const rootfs = { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] };

describe('parseImageConfig', () => {
  it("accepts what Docker and OCI tools write, Go's nulls for empty lists and maps included", () => {
    const docker = {
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      rootfs,
      history: [{ created_by: 'x' }],
      config: {
        User: '',
        Env: null,
        Entrypoint: null,
        Cmd: ['sh'],
        Labels: null,
        ExposedPorts: { '80/tcp': {} },
        Volumes: null,
        Healthcheck: { Test: ['NONE'] },
      },
    };
    expect(parse(docker)).toEqual(docker);
    expect(parse({ rootfs, config: null }).rootfs).toEqual(rootfs);
  });

  it('refuses a config whose fields box reads have another type, with a one-line BoxError', () => {
    const cases: [unknown, string][] = [
      [null, 'img: the image config is not a JSON object'],
      [[rootfs], 'img: the image config is not a JSON object'],
      [{}, 'img: the image config has no rootfs.diff_ids list'],
      [{ rootfs: { diff_ids: [1] } }, 'img: the image config has no rootfs.diff_ids list'],
      [{ rootfs, os: 7 }, 'img: the image config field "os" is not a string'],
      [{ rootfs, history: 'none' }, 'img: the image config field "history" is not a list of objects'],
      [{ rootfs, history: [null] }, 'img: the image config field "history" is not a list of objects'],
      [{ rootfs, config: [] }, 'img: the image config field "config" is not an object'],
      [{ rootfs, config: { Env: 'A=1' } }, 'img: the image config field "config.Env" has the wrong type'],
      [{ rootfs, config: { Cmd: [1] } }, 'img: the image config field "config.Cmd" has the wrong type'],
      [{ rootfs, config: { StopSignal: null } }, 'img: the image config field "config.StopSignal" has the wrong type'],
      [{ rootfs, config: { Labels: { a: 1 } } }, 'img: the image config field "config.Labels" has the wrong type'],
      [
        { rootfs, config: { Healthcheck: { Test: 'true' } } },
        'img: the image config field "config.Healthcheck" has the wrong type',
      ],
    ];
    for (const [config, message] of cases) {
      expect(() => parse(config), message).toThrow(new BoxError(message));
    }
    expect(() => parseImageConfig(Buffer.from('{'), 'img')).toThrow('img: the image config is not valid JSON');
  });
});
