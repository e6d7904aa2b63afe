// `box internal dns NETWORK-ID --address IP --domain NAME`, hidden: a network's DNS responder,
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
    { names: ['--address'], key: 'address', kind: 'string', description: 'the gateway address to listen on' },
    { names: ['--domain'], key: 'domain', kind: 'string', description: "the network's name, a domain of its names" },
  ],
  positionals: [{ name: 'NETWORK-ID' }],
  async run(a) {
    const address = a.flags.address;
    if (typeof address !== 'string') throw new BoxError('internal dns needs --address');
    const { runResponder } = await import('../../network/dns/responder');
    return runResponder({
      roots: roots(),
      networkId: checkedNetworkId(a.positionals[0]),
      address,
      domain: typeof a.flags.domain === 'string' ? a.flags.domain : '',
    });
  },
};
