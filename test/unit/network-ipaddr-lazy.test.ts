// ipaddr.js (~0.2 ms of CPU and ~76 KB of heap to evaluate) is loaded by the first address parsed,
// not by the network modules every `run` imports: a start on `--network none` parses none.
import { expect, test } from 'vitest';

const ipaddrLoaded = () => Object.keys(require.cache).some((f) => f.includes('/node_modules/ipaddr.js/'));

test('the network modules a start imports load ipaddr.js only once an address is parsed', async () => {
  const flags = await import('../../src/network/flags');
  await import('../../src/network/links');
  const parsed = flags.parseNetworkFlags({
    network: 'none',
    networkAlias: [],
    addHost: [],
    dns: [],
    dnsSearch: [],
    dnsOption: [],
    publish: [],
    publishAll: false,
  });
  expect(parsed.mode).toBe('none');
  expect(ipaddrLoaded()).toBe(false);
  const { parseIPv4 } = await import('../../src/network/subnet');
  expect(parseIPv4('10.89.0.5', '--ip')).toBe(0x0a590005);
  expect(ipaddrLoaded()).toBe(true);
});
