// References to images in registries: [HOST[:PORT]/]PATH[:TAG][@DIGEST]. The first component is
// a registry host when it contains "." or ":" or is "localhost"; otherwise the image is on Docker
// Hub (docker.io, served at registry-1.docker.io) and one-component names live under "library/".
import { BoxError } from '../../errors';
import { parseDigest } from '../blobs';

export interface RemoteRef {
  /** The registry as users name it: "docker.io", "127.0.0.1:5000" */
  registry: string;
  /** host[:port] the API is served at */
  host: string;
  /** the repository path in the registry: "library/alpine" */
  repository: string;
  tag?: string;
  digest?: string;
  /** The local name box tags the pulled image with: the name as given, without tag or digest. */
  localName: string;
}

export const DOCKER_HUB = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOSTPART = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

export function parseRemoteRef(input: string): RemoteRef {
  const bad = (why: string) => new BoxError(`invalid image reference "${input}": ${why}`);
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (err) {
      throw bad((err as Error).message);
    }
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad("tags are up to 128 letters, digits, '_', '.' or '-'");
  }
  if (!digest && !tag) tag = 'latest';
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift()!;
    if (!HOSTPART.test(registry)) throw bad(`"${registry}" is not a valid registry host`);
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) {
    throw bad('repository names are lowercase letters, digits and separators, e.g. myorg/app:1.0');
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  const hub = registry === DOCKER_HUB;
  const repository = hub && parts.length === 1 ? `library/${parts[0]}` : parts.join('/');
  if (repository.length > 255) throw bad('the name is longer than 255 characters');
  return {
    registry,
    host: hub ? 'registry-1.docker.io' : registry,
    repository,
    tag,
    digest,
    localName: rest,
  };
}

/** The reference in its canonical text form, e.g. for messages: "127.0.0.1:5000/app:1.0". */
export function formatRemoteRef(r: RemoteRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
