// `box version`: what box is (its version, Node.js's and the helper protocol's).
import { BOX_VERSION } from '../../version';
import { SPEC_VERSION } from '../../runtime/spec';
import { CommandSpec, str } from '../args';
import { FORMAT } from './info';

export const versionCommand: CommandSpec = {
  paths: [['version']],
  summary: 'Show the box version.',
  flags: [FORMAT],
  positionals: [],
  async run(a) {
    const v = {
      version: BOX_VERSION,
      node: process.versions.node,
      helperProtocol: SPEC_VERSION,
      os: 'linux',
      arch: process.arch,
    };
    process.stdout.write(str(a, 'format') === 'json' ? JSON.stringify(v) + '\n' : `box ${BOX_VERSION}\n`);
    return 0;
  },
};
