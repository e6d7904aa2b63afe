// Image references as users type them: NAME[:TAG] or NAME@sha256:DIGEST, where NAME may carry a
// registry host ("localhost:5000/app"). Local imports keep the name exactly as given.
import { BoxError } from '../errors';

export interface ImageRef {
  name: string;
  tag: string;
  /** "NAME:TAG", the form shown by `box images` */
  full: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9-]+)*(?::\\d+)?)';
const NAME_RE = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

export function parseImageRef(input: string): ImageRef {
  let name = input;
  let tag = 'latest';
  const slash = input.lastIndexOf('/');
  const colon = input.lastIndexOf(':');
  if (colon > slash) {
    name = input.slice(0, colon);
    tag = input.slice(colon + 1);
  }
  if (!NAME_RE.test(name) || name.length > 255) {
    throw new BoxError(`invalid image name "${input}": use lowercase letters, digits and separators, e.g. myapp:1.0`);
  }
  if (!TAG_RE.test(tag))
    throw new BoxError(`invalid tag in "${input}": tags are up to 128 letters, digits, '_', '.' or '-'`);
  return { name, tag, full: `${name}:${tag}` };
}

/** Docker's fully qualified form of a local name: busybox:1 -> docker.io/library/busybox:1. */
export function qualifiedName(full: string): string {
  const first = full.split('/')[0];
  if (full.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return full;
  return `docker.io/${full.includes('/') ? '' : 'library/'}${full}`;
}

const registryOf = (qualified: string): string => qualified.slice(0, qualified.indexOf('/'));

/**
 * Where an image comes from, as policies see it: the reference the user gave, fully qualified
 * ("busybox" -> "docker.io/library/busybox:latest"), and the digest of the manifest it was pulled
 * by from that repository. An image given by id stands for its stored names: when they all name
 * one registry the reference is the first of them, otherwise (no name, or names in several
 * registries) it is the id itself, so a policy can tell the registry is unknown.
 */
export function imageProvenance(
  input: string,
  image: { id: string; tags: string[]; repoDigests: string[] },
): { reference: string; digest?: string } {
  const digestOf = (name: string): string | undefined => {
    const q = qualifiedName(name);
    const found = image.repoDigests.find((r) => qualifiedName(r.slice(0, r.lastIndexOf('@'))) === q);
    return found?.slice(found.lastIndexOf('@') + 1);
  };
  const named = (() => {
    try {
      const ref = parseImageRef(input);
      return image.tags.includes(ref.full) ? ref : undefined;
    } catch {
      return undefined; // an id
    }
  })();
  if (named) return { reference: qualifiedName(named.full), digest: digestOf(named.name) };
  const names = [
    ...image.tags.map((t) => ({ reference: qualifiedName(t), digest: digestOf(parseImageRef(t).name) })),
    ...image.repoDigests.map((r) => ({ reference: qualifiedName(r), digest: r.slice(r.lastIndexOf('@') + 1) })),
  ];
  const registries = new Set(names.map((n) => registryOf(n.reference)));
  if (registries.size !== 1) return { reference: image.id };
  return names[0];
}
