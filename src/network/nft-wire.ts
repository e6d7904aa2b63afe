// nf_tables messages as the kernel reads them (uapi nf_tables.h and nfnetlink.h): the nfgenmsg
// header, NFT_MSG_* requests for tables, chains and rules, and the NFNL batch markers that frame
// them into one transaction. Pure encoding on linux/netlink.ts's attribute helpers; nftables.ts
// sends the messages.
//
// nf_tables' own numbers (hook, priority, policy, verdict codes, register numbers) are big-endian;
// register data is raw bytes (see nft-expr.ts).
import {
  Attrs,
  attr,
  attrString,
  attrU32BE,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  nested,
  NetlinkMessage,
  OutgoingMessage,
} from '../linux/netlink';

export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
const AF_UNSPEC = 0;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;

const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_GETTABLE = 1;
const NFT_MSG_DELTABLE = 2;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;

const NFTA_TABLE_NAME = 1;
const NFTA_TABLE_USERDATA = 6;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_RULE_USERDATA = 7;
const UDATA_RULE_COMMENT = 0; // libnftnl's NFTNL_UDATA_RULE_COMMENT: what `nft list` prints as comment "..."

/** Netfilter's IPv4/IPv6 hooks (NF_INET_*). */
export const HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
export type HookName = keyof typeof HOOK;

/** Verdicts: NF_DROP, NF_ACCEPT and nf_tables' own (negative) codes. */
export const VERDICT = { drop: 0, accept: 1, jump: -3, return: -5 } as const;

/** One expression of a rule, encoded as an NFTA_LIST_ELEM (see nft-expr.ts). */
export type Expr = Buffer;

export interface ChainSpec {
  name: string;
  /** Base chains only: the chain type, its hook and priority. Their policy is accept. */
  base?: { type: 'filter' | 'nat'; hook: HookName; priority: number };
}

/** A signed 32-bit number in network order (priorities, verdict codes). */
export function attrS32BE(type: number, value: number): Buffer {
  return attrU32BE(type, value >>> 0);
}

// struct nfgenmsg: family, version (NFNETLINK_V0), resource id in network order
function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  b.writeUInt16BE(resId, 2);
  return b;
}

function nftMessage(what: string, type: number, flags: number, family: number, attrs: Buffer[]): OutgoingMessage {
  return {
    type: (NFNL_SUBSYS_NFTABLES << 8) | type,
    flags: flags | NLM_F_ACK,
    payload: Buffer.concat([nfgenmsg(family), ...attrs]),
    what,
  };
}

/** Adds a table; `userdata` is kept with it, opaque to the kernel (NFTA_TABLE_USERDATA). */
export function newTable(family: number, table: string, userdata?: Buffer): OutgoingMessage {
  const attrs = [attrString(NFTA_TABLE_NAME, table)];
  if (userdata) attrs.push(attr(NFTA_TABLE_USERDATA, userdata));
  return nftMessage(`add table ${table}`, NFT_MSG_NEWTABLE, NLM_F_CREATE, family, attrs);
}

/** Asks for one table (not in a batch); the answer is a NEWTABLE message (see tableUserdata). */
export function getTable(family: number, table: string): OutgoingMessage {
  return nftMessage(`get table ${table}`, NFT_MSG_GETTABLE, 0, family, [attrString(NFTA_TABLE_NAME, table)]);
}

/** The userdata of a table, from the kernel's answer to getTable. */
export function tableUserdata(reply: NetlinkMessage): Buffer | undefined {
  return Attrs.parse(reply.payload, 4).get(NFTA_TABLE_USERDATA);
}

export function delTable(family: number, table: string): OutgoingMessage {
  return nftMessage(`delete table ${table}`, NFT_MSG_DELTABLE, 0, family, [attrString(NFTA_TABLE_NAME, table)]);
}

export function newChain(family: number, table: string, chain: ChainSpec): OutgoingMessage {
  const attrs = [attrString(NFTA_CHAIN_TABLE, table), attrString(NFTA_CHAIN_NAME, chain.name)];
  if (chain.base) {
    attrs.push(
      nested(NFTA_CHAIN_HOOK, [
        attrU32BE(NFTA_HOOK_HOOKNUM, HOOK[chain.base.hook]),
        attrS32BE(NFTA_HOOK_PRIORITY, chain.base.priority),
      ]),
      attrU32BE(NFTA_CHAIN_POLICY, VERDICT.accept),
      attrString(NFTA_CHAIN_TYPE, chain.base.type),
    );
  }
  return nftMessage(`add chain ${table} ${chain.name}`, NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, attrs);
}

/**
 * A rule appended to a chain. `text` names it in an error (its nft form); `comment` is kept with it
 * in the kernel, where `nft list` shows it and listRules reads it back.
 */
export function newRule(
  family: number,
  table: string,
  chain: string,
  exprs: Expr[],
  text: string,
  comment?: string,
): OutgoingMessage {
  const attrs = [
    attrString(NFTA_RULE_TABLE, table),
    attrString(NFTA_RULE_CHAIN, chain),
    nested(NFTA_RULE_EXPRESSIONS, exprs),
  ];
  if (comment !== undefined) {
    // a TLV of one-byte type and length; the comment with its NUL, at most 255 bytes
    const value = Buffer.from(`${comment}\0`);
    if (value.length > 255) throw new Error(`rule comment too long: ${comment}`);
    attrs.push(attr(NFTA_RULE_USERDATA, Buffer.concat([Buffer.from([UDATA_RULE_COMMENT, value.length]), value])));
  }
  return nftMessage(`add rule ${table} ${chain} ${text}`, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family, attrs);
}

/** A dump request for every rule of a family (all tables). */
export function getRules(family: number): { type: number; payload: Buffer } {
  return { type: (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, payload: nfgenmsg(family) };
}

/** A rule from a dump: its table, chain and comment (if any). */
export function decodeRule(reply: NetlinkMessage): { table: string; chain: string; comment?: string } {
  const a = Attrs.parse(reply.payload, 4);
  let comment: string | undefined;
  const udata = a.get(NFTA_RULE_USERDATA);
  for (let at = 0; udata && at + 2 <= udata.length; at += 2 + udata[at + 1]) {
    if (udata[at] === UDATA_RULE_COMMENT) {
      const value = udata.subarray(at + 2, at + 2 + udata[at + 1]);
      const nul = value.indexOf(0);
      comment = value.toString('utf8', 0, nul < 0 ? value.length : nul);
    }
  }
  return { table: a.str(NFTA_RULE_TABLE) ?? '', chain: a.str(NFTA_RULE_CHAIN) ?? '', comment };
}

/** NFNL_MSG_BATCH_BEGIN / END: the kernel applies the messages between them all, or none. */
export function batchBegin(): OutgoingMessage {
  return { type: NFNL_MSG_BATCH_BEGIN, payload: nfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES), what: 'begin batch' };
}

export function batchEnd(): OutgoingMessage {
  return { type: NFNL_MSG_BATCH_END, payload: nfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES), what: 'end batch' };
}
