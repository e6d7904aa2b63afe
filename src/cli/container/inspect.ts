// `box inspect` (containers, images: whichever has the name, or --type) and `box container
// inspect` (containers only), as Docker-shaped JSON or through a Go template.
import { BoxError } from '../../errors';
import { inspectContainer } from '../../runtime/inspect';
import { find, refresh } from '../../runtime/lifecycle';
import { CommandSpec, str } from '../args';
import { roots } from '../context';
import { inspectText, INSPECT_FORMAT_FLAG } from '../inspect-output';
import { INSPECTORS, inspectorTypes } from '../inspectors';
import { store } from './common';

export const inspectCommand: CommandSpec = {
  paths: [['inspect']],
  summary: 'Show containers or images as Docker-shaped JSON.',
  flags: [
    INSPECT_FORMAT_FLAG,
    { names: ['--type'], key: 'type', kind: 'string', value: 'string', description: 'only this kind of object' },
  ],
  positionals: [{ name: 'NAME|ID', rest: true }],
  async run(a) {
    const type = str(a, 'type');
    const kinds = type === undefined ? INSPECTORS : INSPECTORS.filter((i) => i.type === type);
    if (!kinds.length) throw new BoxError(`invalid --type "${type}": use ${inspectorTypes().join(' or ')}`);
    const found: object[] = [];
    let missing = false;
    for (const q of a.positionals) {
      let obj: object | undefined;
      for (const k of kinds) if (!obj) obj = await k.find(q);
      if (obj) found.push(obj);
      else {
        process.stderr.write(`box: no such ${type ?? 'object'}: ${q}\n`);
        missing = true;
      }
    }
    process.stdout.write(inspectText(found, str(a, 'format')));
    return missing ? 1 : 0;
  },
};

export const containerInspectCommand: CommandSpec = {
  paths: [['container', 'inspect']],
  summary: 'Show containers as Docker-shaped JSON.',
  flags: [INSPECT_FORMAT_FLAG],
  positionals: [{ name: 'CONTAINER', rest: true }],
  async run(a) {
    const s = store();
    const out = [];
    for (const q of a.positionals) out.push(inspectContainer(await refresh(roots(), s, find(s, q)), s));
    process.stdout.write(inspectText(out, str(a, 'format')));
    return 0;
  },
};
