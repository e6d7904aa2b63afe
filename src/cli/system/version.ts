// `box version`: what box is (its version, Node.js's and the helper protocol's). The helper's
// protocol and the template engine are loaded only for --format: plain `box version` loads no
// more than the command line's own modules.
import { BOX_VERSION } from '../../version';
import { CommandSpec, str } from '../args';
import { FORMAT } from './format-flag';

export const versionCommand: CommandSpec = {
  paths: [['version']],
  summary: 'Show the box version.',
  flags: [FORMAT],
  positionals: [],
  async run(a) {
    const format = str(a, 'format');
    if (format === undefined) {
      process.stdout.write(`box ${BOX_VERSION}\n`);
      return 0;
    }
    const { SPEC_VERSION } = require('../../runtime/spec') as typeof import('../../runtime/spec');
    const { goStruct, outputFormat } = require('../template') as typeof import('../template');
    const v = {
      version: BOX_VERSION,
      node: process.versions.node,
      helperProtocol: SPEC_VERSION,
      os: 'linux',
      arch: process.arch,
    };
    if (format === 'json') process.stdout.write(JSON.stringify(v) + '\n');
    else {
      // Docker's version fields, for `{{.Client.Version}}`: box is the client and has no server
      const client = goStruct('version.Client', {
        Version: v.version,
        NodeVersion: v.node,
        HelperProtocol: v.helperProtocol,
        Os: v.os,
        Arch: v.arch,
      });
      process.stdout.write(outputFormat(format).render([goStruct('version', { Client: client })]));
    }
    return 0;
  },
};
