// `box network create`: a bridge network's record (Docker's flags); prints its id.
import { syncRuleset } from '../../network/setup';
import { bool, CommandSpec, list, str } from '../args';
import { keyValues, stores } from './common';

export const networkCreateCommand: CommandSpec = {
  paths: [['network', 'create']],
  summary: 'Create a bridge network.',
  flags: [
    { names: ['--driver', '-d'], key: 'driver', kind: 'string', value: 'driver', description: 'bridge (the only one)' },
    { names: ['--subnet'], key: 'subnet', kind: 'string', value: 'cidr', description: 'subnet, e.g. 10.89.0.0/24' },
    { names: ['--gateway'], key: 'gateway', kind: 'string', value: 'ip', description: 'gateway address in the subnet' },
    {
      names: ['--ip-range'],
      key: 'ipRange',
      kind: 'string',
      value: 'cidr',
      description: 'allocate container addresses from this range of the subnet',
    },
    { names: ['--internal'], key: 'internal', kind: 'bool', description: 'no way out of the network' },
    { names: ['--attachable'], key: 'attachable', kind: 'bool', description: "accepted for Docker's sake" },
    { names: ['--label'], key: 'label', kind: 'list', value: 'KEY=VALUE', description: 'set a metadata label' },
    {
      names: ['--opt', '-o'],
      key: 'opt',
      kind: 'list',
      value: 'KEY=VALUE',
      description: 'com.docker.network.bridge.name=NAME, mtu=N (or com.docker.network.driver.mtu=N)',
    },
  ],
  positionals: [{ name: 'NETWORK' }],
  async run(a) {
    const { networks } = stores();
    const n = await networks.create({
      name: a.positionals[0],
      driver: str(a, 'driver'),
      subnet: str(a, 'subnet'),
      gateway: str(a, 'gateway'),
      ipRange: str(a, 'ipRange'),
      internal: bool(a, 'internal'),
      attachable: bool(a, 'attachable'),
      labels: keyValues(list(a, 'label')),
      options: keyValues(list(a, 'opt')),
    });
    await syncRuleset(networks.roots, networks); // the new bridge is isolated from the others at once
    process.stdout.write(n.Id + '\n');
    return 0;
  },
};
