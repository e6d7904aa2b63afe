/* The network rules `baseline` and `strict` both take as arguments (none set: no rule):
 *   networks=a,b                  the bridge networks a container may join ("bridge" is box's
 *                                 default one): every one of its networks is judged, the one
 *                                 `box network connect` adds too (box runs the policies on a
 *                                 connect); none and another container's network are judged
 *                                 elsewhere (isolation.c, strict.c)
 *   host-ports=80,443,8000-8999   the host ports (and inclusive ranges) it may publish
 */
#include "policy.h"

/* "8000" or "8000-8999" as an inclusive range of ports 1-65535; false when it is neither */
static bool parse_range(str s, uint32_t *lo, uint32_t *hi)
{
	uint32_t n[2] = { 0, 0 }, k = 0, digits = 0;
	for (uint32_t i = 0; i < s.len; i++) {
		char ch = s.ptr[i];
		if (ch == '-' && k == 0 && digits) {
			k = 1;
			digits = 0;
		} else if (ch >= '0' && ch <= '9' && digits < 5) {
			n[k] = n[k] * 10 + (uint32_t)(ch - '0');
			digits++;
		} else {
			return false;
		}
	}
	if (!digits)
		return false;
	*lo = n[0];
	*hi = k ? n[1] : n[0];
	return *lo >= 1 && *hi <= 65535 && *lo <= *hi;
}

/* host-ports= items at most: a list, not a table of every port */
#define MAX_RANGES 64

static const char *protocol_name(uint8_t p)
{
	return p == BOX_PROTO_UDP ? "udp" : p == BOX_PROTO_SCTP ? "sctp" : "tcp";
}

/* the names of the bridge networks the container joins, each once: its endpoints, and the mode's
 * (a request written by hand, as in a test case, may give only the mode) */
static strlist joined_networks(const box_network *n)
{
	strlist out = { 0 };
	if (n->mode.tag == BOX_NET_BRIDGE)
		list_add(&out, n->mode.val);
	for (uint32_t i = 0; i < n->networks.len; i++)
		if (!list_has(&out, n->networks.ptr[i].name))
			list_add(&out, n->networks.ptr[i].name);
	return out;
}

/* networks=: each network the container joins must be one of the value's */
static BOX_APART void network_name_reasons(const box_container *c, str value, strlist *reasons)
{
	strlist allowed = list_items(value);
	strlist joined = joined_networks(&c->network);
	for (uint32_t i = 0; i < joined.len; i++)
		if (!list_has(&allowed, joined.ptr[i]))
			say(reasons, "container %s: network %s is not allowed (networks=%s): run it with --network %s", c->name,
			    joined.ptr[i], list_join(&allowed, ","), allowed.len ? list_join(&allowed, " or ") : str_c("none"));
}

/* host-ports=: each published host port must be in one of the value's ports and ranges */
static BOX_APART void host_port_reasons(const box_container *c, str value, strlist *reasons)
{
	strlist ranges = list_items(value);
	if (ranges.len > MAX_RANGES) {
		say(reasons, "policy argument host-ports has %u items: give at most %u ports and ranges (e.g. 8000-8999)",
		    (uint64_t)ranges.len, (uint64_t)MAX_RANGES);
		return;
	}
	uint32_t lo[MAX_RANGES], hi[MAX_RANGES], n = 0;
	for (uint32_t i = 0; i < ranges.len; i++) {
		if (!parse_range(ranges.ptr[i], &lo[n], &hi[n])) {
			say(reasons, "policy argument host-ports=%s: %s is not a port or a range of ports 1-65535 "
				     "(e.g. 80,443,8000-8999)", value, ranges.ptr[i]);
			return;
		}
		n++;
	}
	for (uint32_t i = 0; i < c->network.published_ports.len; i++) {
		const box_port_mapping *p = &c->network.published_ports.ptr[i];
		bool ok = false;
		for (uint32_t k = 0; k < n && !ok; k++)
			ok = p->host_port >= lo[k] && p->host_port <= hi[k];
		if (!ok)
			say(reasons, "container %s: host port %u/%c is not allowed (host-ports=%s): publish it on an allowed port",
			    c->name, (uint64_t)p->host_port, protocol_name(p->protocol), list_join(&ranges, ","));
	}
}

void network_reasons(const box_request *req, strlist *reasons)
{
	opt_str networks = arg(req, "networks");
	if (networks.set)
		network_name_reasons(&req->container, networks.val, reasons);
	opt_str ports = arg(req, "host-ports");
	if (ports.set)
		host_port_reasons(&req->container, ports.val, reasons);
}
