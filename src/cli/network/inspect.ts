// `box network inspect`: networks as Docker-shaped JSON, with the containers running on them.
import { inspectNetwork } from '../../network/manage';
import { printableJson } from '../../util/printable';
import { CommandSpec } from '../args';
import { stores } from './common';

export const networkInspectCommand: CommandSpec = {
  paths: [['network', 'inspect']],
  summary: 'Show networks as Docker-shaped JSON.',
  flags: [],
  positionals: [{ name: 'NETWORK', rest: true }],
  async run(a) {
    const { networks, containers } = stores();
    const out: object[] = [];
    let code = 0;
    for (const q of a.positionals) {
      const n = await networks.find(q);
      if (n) out.push(inspectNetwork(networks, containers, n));
      else {
        process.stderr.write(`box: no such network: ${q}\n`);
        code = 1;
      }
    }
    process.stdout.write(printableJson(JSON.stringify(out, null, 4)) + '\n');
    return code;
  },
};
