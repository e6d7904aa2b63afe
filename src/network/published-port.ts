// A published port as box records it and as nftables' DNAT rules read it: its own module so that
// the ruleset (nftables.ts) and the -p parser (ports.ts), which asks the kernel's tables for other
// roots' ports, do not import each other.
export type PortProtocol = 'tcp' | 'udp';

export interface PublishedPort {
  /** '0.0.0.0' = every host address */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}
