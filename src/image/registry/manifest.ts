// Manifests as registries serve them: OCI image manifests and indexes, Docker schema2 manifests
// and manifest lists, and the choice of one platform's manifest from an index.
import { BoxError } from '../../errors';
import { goArch } from '../config';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** Parses a manifest body; the media type comes from Content-Type, else from the body itself. */
export function parseManifest(body: Buffer, contentType: string | undefined, what: string): ImageManifest | ImageIndex {
  let j: { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
  try {
    j = JSON.parse(body.toString('utf8')) as typeof j;
  } catch {
    throw new BoxError(`${what}: the manifest is not valid JSON`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) {
    throw new BoxError(`${what}: the manifest is not a JSON object`);
  }
  const ct = (contentType ?? '').split(';')[0].trim();
  const mediaType = typeof j.mediaType === 'string' ? j.mediaType : ct;
  if (mediaType === MT.dockerSchema1 || mediaType === MT.dockerSchema1Signed || j.schemaVersion === 1) {
    throw new BoxError(
      `${what}: Docker schema 1 manifests are not supported (deprecated since 2017); push the image again with a current tool`,
    );
  }
  if (mediaType === MT.ociIndex || mediaType === MT.dockerList || (Array.isArray(j.manifests) && !j.config)) {
    if (!Array.isArray(j.manifests)) throw new BoxError(`${what}: the image index has no manifests`);
    return {
      kind: 'index',
      mediaType: mediaType || MT.ociIndex,
      manifests: (j.manifests as unknown[]).map((d) => descriptor(d, what)),
    };
  }
  if (!j.config || !Array.isArray(j.layers))
    throw new BoxError(`${what}: unsupported manifest (media type "${mediaType || 'none'}")`);
  return {
    kind: 'manifest',
    mediaType: mediaType || MT.ociManifest,
    config: descriptor(j.config, what),
    layers: (j.layers as unknown[]).map((d) => descriptor(d, what)),
  };
}

function descriptor(d: unknown, what: string): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (!o || typeof o.digest !== 'string' || typeof o.size !== 'number' || typeof o.mediaType !== 'string') {
    throw new BoxError(`${what}: a descriptor in the manifest lacks its mediaType, digest or size`);
  }
  return o as Descriptor;
}

/** "linux/arm64/v8" -> platform; the default is the running machine. */
export function parsePlatform(s?: string): Platform {
  if (!s) return { os: 'linux', architecture: goArch(), variant: process.arch === 'arm64' ? 'v8' : undefined };
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) throw new BoxError(`invalid platform "${s}": expected OS/ARCH[/VARIANT], e.g. linux/amd64`);
  return { os, architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Picks the manifest for `want` from an index: os and architecture must match; variant too when both name one. */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const w = normPlatform(want);
  const candidates = index.manifests.filter(
    (d) => d.platform && d.platform.os === w.os && d.platform.architecture === w.architecture,
  );
  const exact = candidates.find((d) => normPlatform(d.platform!).variant === w.variant);
  const pick = exact ?? candidates.find((d) => platformMatches(d.platform!, want));
  if (!pick) {
    const have = index.manifests
      .filter((d) => d.platform && d.platform.os !== 'unknown')
      .map((d) => formatPlatform(d.platform!));
    throw new BoxError(
      `${what}: no image for ${formatPlatform(want)}${have.length ? ` (the image has ${[...new Set(have)].join(', ')})` : ''}`,
    );
  }
  return pick;
}

/** arm64 without a variant is v8. */
function normPlatform(p: Platform): Platform {
  return { ...p, variant: p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined) };
}

/** Whether an image for `have` runs as `want`: same os and architecture, same variant when both name one. */
export function platformMatches(have: Platform, want: Platform): boolean {
  const h = normPlatform(have);
  const w = normPlatform(want);
  return h.os === w.os && h.architecture === w.architecture && (!h.variant || !w.variant || h.variant === w.variant);
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** Layer media types box can unpack; foreign (non-distributable) layers are refused. */
export function layerCompression(d: Descriptor, what: string): LayerCompression {
  const t = d.mediaType;
  if (t.includes('foreign') || t.includes('nondistributable')) {
    throw new BoxError(
      `${what}: layer ${d.digest} is a non-distributable (foreign) layer, which box does not download`,
    );
  }
  if (t.endsWith('+zstd') || t.endsWith('.zstd')) return 'zstd';
  if (t.endsWith('gzip')) return 'gzip';
  if (t.endsWith('.tar') || t === 'application/vnd.docker.image.rootfs.diff.tar') return 'none';
  throw new BoxError(`${what}: layer ${d.digest} has the unsupported media type "${t}"`);
}
