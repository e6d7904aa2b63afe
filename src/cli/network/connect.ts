// `box network connect` and `box network disconnect`, of a running or stopped container.
import { BoxError } from '../../errors';
import { connect, disconnect, removedNetworkOf } from '../../network/connect';
import { find } from '../../runtime/lifecycle';
import { bool, CommandSpec, list, str } from '../args';
import { stores } from './common';

export const networkConnectCommand: CommandSpec = {
  paths: [['network', 'connect']],
  summary: 'Connect a container to a network (a running one gets the interface at once).',
  flags: [
    { names: ['--ip'], key: 'ip', kind: 'string', value: 'address', description: "the container's IPv4 address" },
    {
      names: ['--alias'],
      key: 'alias',
      kind: 'list',
      value: 'name',
      description: "another name for the container on the network's DNS",
    },
  ],
  positionals: [{ name: 'NETWORK' }, { name: 'CONTAINER' }],
  async run(a) {
    const { networks, containers } = stores();
    const n = await networks.get(a.positionals[0]);
    await connect(containers, n, find(containers, a.positionals[1]), { ip: str(a, 'ip'), aliases: list(a, 'alias') });
    return 0;
  },
};

export const networkDisconnectCommand: CommandSpec = {
  paths: [['network', 'disconnect']],
  summary: 'Disconnect a container from a network.',
  flags: [{ names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'no error if it is not connected' }],
  positionals: [{ name: 'NETWORK' }, { name: 'CONTAINER' }],
  async run(a) {
    const { networks, containers } = stores();
    const c = find(containers, a.positionals[1]);
    // a network removed while a stopped container named it can still be taken off the container
    const n = (await networks.find(a.positionals[0])) ?? removedNetworkOf(c, a.positionals[0]);
    if (!n) throw new BoxError(`network ${a.positionals[0]} not found: list networks with box network ls`, 1);
    await disconnect(containers, n, c, bool(a, 'force'));
    return 0;
  },
};
