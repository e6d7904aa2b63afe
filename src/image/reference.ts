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
  if (!TAG_RE.test(tag)) throw new BoxError(`invalid tag in "${input}": tags are up to 128 letters, digits, '_', '.' or '-'`);
  return { name, tag, full: `${name}:${tag}` };
}
