// nf_tables expressions (the kernel's rule language: load into a register, compare, set a verdict,
// NAT) and the matches box's rules are made of, each written as the expressions `nft` itself
// would send for it (so `nft list` prints it back in its usual form).
//
// Register data is compared as raw bytes: addresses and ports in network order, interface names
// as 16 zero-padded bytes, and ct state/status and fib's address type as host-order u32.
import * as os from 'node:os';
import { attr, attrString, attrU32BE, nested } from '../linux/netlink';
import { attrS32BE, Expr, NFPROTO_IPV4, VERDICT } from './nft-wire';

const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const NFTA_VERDICT_CHAIN = 2;

const REG_VERDICT = 0;
const REG_1 = 1;
const REG_2 = 2;

const META_IIFNAME = 6;
const META_OIFNAME = 7;
const META_NFPROTO = 15;
const META_L4PROTO = 16;
const PAYLOAD_NETWORK_HEADER = 1;
const PAYLOAD_TRANSPORT_HEADER = 2;
const CMP_EQ = 0;
const CMP_NEQ = 1;
const CT_STATE = 0;
const CT_STATUS = 2;
const NAT_DNAT = 1;
const FIB_RESULT_ADDRTYPE = 3;
const FIB_F_DADDR = 2;
const RTN_LOCAL = 2;
const IFNAMSIZ = 16;

/** ct state bits (NF_CT_STATE_BIT) and the ct status bit of a destination-NATed connection. */
export const CT_STATE_ESTABLISHED = 1 << 1;
export const CT_STATE_RELATED = 1 << 2;
export const CT_STATUS_DNAT = 1 << 5;

export const IPPROTO = { tcp: 6, udp: 17 } as const;

function expr(name: string, attrs: Buffer[]): Expr {
  const parts = [attrString(NFTA_EXPR_NAME, name)];
  if (attrs.length > 0) parts.push(nested(NFTA_EXPR_DATA, attrs));
  return nested(NFTA_LIST_ELEM, parts);
}

const data = (type: number, value: Buffer): Buffer => nested(type, [attr(NFTA_DATA_VALUE, value)]);

function hostU32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (os.endianness() === 'LE') b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}

/** An IPv4 address in network order; throws on anything else. */
export function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(parts.map(Number));
}

function ifnameBytes(name: string): Buffer {
  const b = Buffer.alloc(IFNAMSIZ);
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new Error(`interface name too long: ${name}`);
  b.write(name);
  return b;
}

// --- the kernel's expressions

function meta(key: number): Expr {
  return expr('meta', [attrU32BE(2 /* KEY */, key), attrU32BE(1 /* DREG */, REG_1)]);
}

function payload(base: number, offset: number, len: number): Expr {
  return expr('payload', [
    attrU32BE(1 /* DREG */, REG_1),
    attrU32BE(2 /* BASE */, base),
    attrU32BE(3 /* OFFSET */, offset),
    attrU32BE(4 /* LEN */, len),
  ]);
}

function cmp(op: number, value: Buffer): Expr {
  return expr('cmp', [attrU32BE(1 /* SREG */, REG_1), attrU32BE(2 /* OP */, op), data(3 /* DATA */, value)]);
}

/** reg1 = (reg1 & mask) ^ 0 */
function bitwiseAnd(mask: Buffer): Expr {
  return expr('bitwise', [
    attrU32BE(1 /* SREG */, REG_1),
    attrU32BE(2 /* DREG */, REG_1),
    attrU32BE(3 /* LEN */, mask.length),
    data(4 /* MASK */, mask),
    data(5 /* XOR */, Buffer.alloc(mask.length)),
  ]);
}

function ct(key: number): Expr {
  return expr('ct', [attrU32BE(2 /* KEY */, key), attrU32BE(1 /* DREG */, REG_1)]);
}

function immediate(dreg: number, value: Buffer): Expr {
  return expr('immediate', [attrU32BE(1 /* DREG */, dreg), data(2 /* DATA */, value)]);
}

function verdict(code: number, chain?: string): Expr {
  const v = [attrS32BE(NFTA_VERDICT_CODE, code)];
  if (chain !== undefined) v.push(attrString(NFTA_VERDICT_CHAIN, chain));
  return expr('immediate', [
    attrU32BE(1 /* DREG */, REG_VERDICT),
    nested(2 /* DATA */, [nested(NFTA_DATA_VERDICT, v)]),
  ]);
}

// --- matches: each is the expressions of one nft match, e.g. `iifname "box0"`

/** `meta nfproto ipv4`: what every IPv4 header match needs first in an inet table. */
export const isIPv4 = (): Expr[] => [meta(META_NFPROTO), cmp(CMP_EQ, Buffer.from([NFPROTO_IPV4]))];

export const iifname = (name: string, equal = true): Expr[] => [
  meta(META_IIFNAME),
  cmp(equal ? CMP_EQ : CMP_NEQ, ifnameBytes(name)),
];

export const oifname = (name: string, equal = true): Expr[] => [
  meta(META_OIFNAME),
  cmp(equal ? CMP_EQ : CMP_NEQ, ifnameBytes(name)),
];

/** `ip saddr|daddr ADDR[/LEN]` (an exact address when there is no /LEN), negated with equal=false. */
export function ipAddr(field: 'saddr' | 'daddr', cidr: string, equal = true): Expr[] {
  const [address, lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new Error(`not an IPv4 prefix: ${cidr}`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const maskBytes = Buffer.alloc(4);
  maskBytes.writeUInt32BE(mask);
  const net = Buffer.alloc(4);
  net.writeUInt32BE((ipv4Bytes(address).readUInt32BE() & mask) >>> 0);
  const load = payload(PAYLOAD_NETWORK_HEADER, field === 'saddr' ? 12 : 16, 4);
  return len === 32
    ? [load, cmp(equal ? CMP_EQ : CMP_NEQ, net)]
    : [load, bitwiseAnd(maskBytes), cmp(equal ? CMP_EQ : CMP_NEQ, net)];
}

/** `meta l4proto tcp|udp` */
export const l4proto = (proto: keyof typeof IPPROTO): Expr[] => [
  meta(META_L4PROTO),
  cmp(CMP_EQ, Buffer.from([IPPROTO[proto]])),
];

/** `th dport PORT` (tcp and udp both keep the destination port at offset 2). */
export function dport(port: number): Expr[] {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(port);
  return [payload(PAYLOAD_TRANSPORT_HEADER, 2, 2), cmp(CMP_EQ, b)];
}

/** `ct state` has any of these bits (CT_STATE_*). */
export const ctStateAny = (bits: number): Expr[] => [ct(CT_STATE), bitwiseAnd(hostU32(bits)), cmp(CMP_NEQ, hostU32(0))];

/** `ct status` has any of these bits (CT_STATUS_*). */
export const ctStatusAny = (bits: number): Expr[] => [
  ct(CT_STATUS),
  bitwiseAnd(hostU32(bits)),
  cmp(CMP_NEQ, hostU32(0)),
];

/** `fib daddr type local`: the destination is one of this host's addresses (127.0.0.1 included). */
export const daddrIsLocal = (): Expr[] => [
  expr('fib', [
    attrU32BE(1 /* DREG */, REG_1),
    attrU32BE(2 /* RESULT */, FIB_RESULT_ADDRTYPE),
    attrU32BE(3 /* FLAGS */, FIB_F_DADDR),
  ]),
  cmp(CMP_EQ, hostU32(RTN_LOCAL)),
];

// --- statements

export const counter = (): Expr[] => [expr('counter', [])];
export const accept = (): Expr[] => [verdict(VERDICT.accept)];
export const drop = (): Expr[] => [verdict(VERDICT.drop)];
export const returnVerdict = (): Expr[] => [verdict(VERDICT.return)];
export const jump = (chain: string): Expr[] => [verdict(VERDICT.jump, chain)];
export const masquerade = (): Expr[] => [expr('masq', [])];

/** `dnat ip to ADDRESS:PORT` */
export function dnat(address: string, port: number): Expr[] {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return [
    immediate(REG_1, ipv4Bytes(address)),
    immediate(REG_2, portBytes),
    expr('nat', [
      attrU32BE(1 /* TYPE */, NAT_DNAT),
      attrU32BE(2 /* FAMILY */, NFPROTO_IPV4),
      attrU32BE(3 /* REG_ADDR_MIN */, REG_1),
      attrU32BE(5 /* REG_PROTO_MIN */, REG_2),
    ]),
  ];
}
