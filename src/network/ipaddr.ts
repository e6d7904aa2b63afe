// ipaddr.js, loaded by its first caller: a start without a network address to parse (`--network
// none`, no --ip) needs none of it. Evaluating it takes ~0.18 ms of CPU and ~76 KB of heap even
// with its code cached, more without (measured with vm.Script and V8's code cache, 2026-12-05).
type IpAddr = typeof import('ipaddr.js');

let loaded: IpAddr | undefined;

/** The ipaddr.js module, loaded on the first call. */
export function ipaddr(): IpAddr {
  loaded ??= require('ipaddr.js') as IpAddr;
  return loaded;
}
