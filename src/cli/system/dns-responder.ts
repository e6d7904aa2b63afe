// `box internal dns NETWORK-ID --address IP[/PREFIX] --domain NAME [--no-forward]`, hidden: a network's DNS responder,
// started detached by the first container of the network (src/network/dns/ensure.ts). It never
// returns: it ends itself once its network has no containers.
import { BoxError } from '../../errors';
import { checkedNetworkId } from '../../paths';
import { CommandSpec } from '../args';
import { roots } from '../context';

export const dnsResponderCommand: CommandSpec = {
  paths: [['internal', 'dns']],
  summary: "(internal) a network's DNS responder: answers its containers' names on its gateway, forwards the rest.",
  flags: [
    {
      names: ['--address'],
      key: 'address',
      kind: 'string',
      description: 'the gateway address to listen on, with the subnet prefix of the clients answered',
    },
    { names: ['--domain'], key: 'domain', kind: 'string', description: "the network's name, a domain of its names" },
    { names: ['--no-forward'], key: 'noForward', kind: 'bool', description: "answer only the network's names" },
  ],
  positionals: [{ name: 'NETWORK-ID' }],
  async run(a) {
    const m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(typeof a.flags.address === 'string' ? a.flags.address : '');
    if (!m) throw new BoxError('internal dns needs --address IPV4[/PREFIX]');
    const { runResponder } = await import('../../network/dns/responder');
    return runResponder({
      roots: roots(),
      networkId: checkedNetworkId(a.positionals[0]),
      address: m[1],
      prefixLength: m[2] === undefined ? undefined : Number(m[2]),
      internal: a.flags.noForward === true,
      domain: typeof a.flags.domain === 'string' ? a.flags.domain : '',
    });
  },
};
