// Registry client pieces that need no server: references, authentication challenges,
// manifests and platform selection, credentials files.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { credentialsFromFile, parseChallenge } from '../../src/image/registry/auth';
import { layerCompression, MT, parseManifest, parsePlatform, selectPlatform } from '../../src/image/registry/manifest';
import { parseRemoteRef } from '../../src/image/registry/reference';

const D = (c: string) => 'sha256:' + c.repeat(64);

describe('parseRemoteRef', () => {
  it('reads registry, repository, tag and digest', () => {
    expect(parseRemoteRef('127.0.0.1:5000/app/web:1.2')).toMatchObject({
      registry: '127.0.0.1:5000',
      host: '127.0.0.1:5000',
      repository: 'app/web',
      tag: '1.2',
      localName: '127.0.0.1:5000/app/web',
    });
    expect(parseRemoteRef('localhost/x')).toMatchObject({ registry: 'localhost', repository: 'x', tag: 'latest' });
    expect(parseRemoteRef('alpine')).toMatchObject({
      registry: 'docker.io',
      host: 'registry-1.docker.io',
      repository: 'library/alpine',
      tag: 'latest',
      localName: 'alpine',
    });
    expect(parseRemoteRef('me/tool:v1')).toMatchObject({ registry: 'docker.io', repository: 'me/tool', tag: 'v1' });
    expect(parseRemoteRef(`ghcr.io/o/r@${D('a')}`)).toMatchObject({
      registry: 'ghcr.io',
      repository: 'o/r',
      tag: undefined,
      digest: D('a'),
    });
    expect(parseRemoteRef(`reg.io:443/o:t@${D('b')}`)).toMatchObject({ tag: 't', digest: D('b') });
  });
  it('refuses malformed references', () => {
    for (const bad of ['UPPER', 'a/../b', 'x:', 'a@sha256:123', 'reg.io/', ':tag', 'a//b'])
      expect(() => parseRemoteRef(bad)).toThrow(/invalid image reference/);
  });
});

describe('parseChallenge', () => {
  it('parses Bearer and Basic challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/alpine:pull',
      },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Bearer realm="http://h/t?a=b", service=reg , scope="a:b:pull,push"')?.params).toEqual({
      realm: 'http://h/t?a=b',
      service: 'reg',
      scope: 'a:b:pull,push',
    });
    expect(parseChallenge('Bearer realm="q\\"uote"')?.params.realm).toBe('q"uote');
  });
});

describe('manifests', () => {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [
        {
          mediaType: MT.ociManifest,
          digest: D('1'),
          size: 1,
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        },
        {
          mediaType: MT.ociManifest,
          digest: D('2'),
          size: 1,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
        { mediaType: MT.ociManifest, digest: D('3'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MT.ociManifest, digest: D('4'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    }),
  );
  it('selects the platform from an index', () => {
    const m = parseManifest(index, undefined, 'x');
    expect(m.kind).toBe('index');
    if (m.kind !== 'index') return;
    expect(selectPlatform(m, parsePlatform('linux/amd64'), 'x').digest).toBe(D('3'));
    expect(selectPlatform(m, parsePlatform('linux/arm64'), 'x').digest).toBe(D('2'));
    expect(selectPlatform(m, parsePlatform('linux/arm/v7'), 'x').digest).toBe(D('1'));
    expect(() => selectPlatform(m, parsePlatform('linux/s390x'), 'x')).toThrow(
      'x: no image for linux/s390x (the image has linux/arm/v7, linux/arm64/v8, linux/amd64)',
    );
  });
  it('reads Docker schema2 manifests by Content-Type and refuses schema 1', () => {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: D('c'), size: 2 },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D('d'), size: 3 }],
      }),
    );
    const m = parseManifest(body, `${MT.dockerManifest}; charset=utf-8`, 'x');
    expect(m).toMatchObject({ kind: 'manifest', mediaType: MT.dockerManifest });
    if (m.kind === 'manifest') expect(layerCompression(m.layers[0], 'x')).toBe('gzip');
    expect(() => parseManifest(Buffer.from('{"schemaVersion":1}'), MT.dockerSchema1Signed, 'x')).toThrow(/schema 1/);
    expect(() =>
      layerCompression(
        { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: D('e'), size: 1 },
        'x',
      ),
    ).toThrow(/foreign/);
    expect(
      layerCompression({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: D('e'), size: 1 }, 'x'),
    ).toBe('none');
    expect(
      layerCompression({ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: D('e'), size: 1 }, 'x'),
    ).toBe('zstd');
  });
});

describe('credentialsFromFile', () => {
  it('reads Docker config.json auths', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'box-auth-')), 'config.json');
    fs.writeFileSync(
      f,
      JSON.stringify({
        auths: {
          'reg.io:5000': { auth: Buffer.from('alice:s3:cret').toString('base64') },
          'https://index.docker.io/v1/': { auth: Buffer.from('bob:pw').toString('base64') },
        },
      }),
    );
    expect(credentialsFromFile(f, 'reg.io:5000')).toEqual({ username: 'alice', password: 's3:cret' });
    expect(credentialsFromFile(f, 'docker.io')).toEqual({ username: 'bob', password: 'pw' });
    expect(credentialsFromFile(f, 'other.io')).toBeUndefined();
    expect(credentialsFromFile(f + '.missing', 'reg.io:5000')).toBeUndefined();
    fs.rmSync(path.dirname(f), { recursive: true });
  });
});
