// ipaddr.js, loaded by its first caller: evaluating the library costs ~1.2 ms of CPU in the
// executable (its regular expressions and tables; measured per `run -d` on the 2-core dev VM,
// 2026-12-05), and a start without a network address to parse (`--network none`, no --ip) needs
// none of it.
type IpAddr = typeof import('ipaddr.js');

let loaded: IpAddr | undefined;

/** The ipaddr.js module, loaded on the first call. */
export function ipaddr(): IpAddr {
  loaded ??= require('ipaddr.js') as IpAddr;
  return loaded;
}
