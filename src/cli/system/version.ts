// `box version`: what box is (its version, Node.js's and the helper protocol's).
import { BOX_VERSION } from '../../version';
import { SPEC_VERSION } from '../../runtime/spec';
import { CommandSpec, str } from '../args';
import { goStruct, outputFormat } from '../template';
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
    const format = str(a, 'format');
    if (format === 'json') process.stdout.write(JSON.stringify(v) + '\n');
    else if (format !== undefined) {
      // Docker's version fields, for `{{.Client.Version}}`: box is the client and has no server
      const client = goStruct('version.Client', {
        Version: v.version,
        NodeVersion: v.node,
        HelperProtocol: v.helperProtocol,
        Os: v.os,
        Arch: v.arch,
      });
      process.stdout.write(outputFormat(format).render([goStruct('version', { Client: client })]));
    } else process.stdout.write(`box ${BOX_VERSION}\n`);
    return 0;
  },
};
