// COPY --chown=USER[:GROUP]: names looked up in the stage's /etc/passwd and /etc/group (read
// inside its layers), numbers taken as they are; without a group, the group id is the user id's
// number, as Docker does it.
import { BoxError } from '../errors';
import { LayerStack } from '../runtime/diff';
import { readImageFile } from '../runtime/image-files';
import { parseGroup, parsePasswd } from '../runtime/users';
import { Owner } from './layer-tar';

export function parseOwner(spec: string, image: LayerStack): Owner {
  const [user, group] = spec.split(':', 2);
  const id = (value: string, file: string, find: (text: string | undefined) => number | undefined): number => {
    if (/^\d+$/.test(value)) return Number(value);
    const found = find(readImageFile(image.dirs, file));
    if (found === undefined) throw new BoxError(`--chown=${spec}: no "${value}" in the image's ${file}: use a number`);
    return found;
  };
  if (!user) throw new BoxError(`--chown=${spec}: expected USER[:GROUP]`);
  const uid = id(user, '/etc/passwd', (t) => parsePasswd(t).find((e) => e.name === user)?.uid);
  const gid = group ? id(group, '/etc/group', (t) => parseGroup(t).find((e) => e.name === group)?.gid) : uid;
  return { uid, gid };
}
