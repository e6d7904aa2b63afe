/* The denials of box's `baseline` policy, which `strict` makes too: what breaks container
 * isolation outright — privileged containers, the host's PID/IPC/network namespaces, dangerous
 * capabilities, bind mounts of sensitive host paths.
 */
#include "policy.h"

static const char *const DANGEROUS_CAPABILITIES[] = {
	"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME", "SYS_RESOURCE", "SYSLOG",
	"NET_ADMIN", "MAC_ADMIN", "MAC_OVERRIDE", "DAC_READ_SEARCH", "LINUX_IMMUTABLE", "BPF", "PERFMON", "CHECKPOINT_RESTORE",
};

static const char *const SENSITIVE_TREES[] = {
	"/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/lib/docker", "/var/lib/containerd",
};

static const char *const SOCKETS[] = {
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
	"/run/podman/podman.sock", "/run/crio/crio.sock", "/run/buildkit/buildkitd.sock",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool dangerous(str cap)
{
	for (size_t i = 0; i < COUNT(DANGEROUS_CAPABILITIES); i++)
		if (str_eq_c(cap, DANGEROUS_CAPABILITIES[i]))
			return true;
	return false;
}

/* An allow-capabilities item as the original compared it: trim(), toUpperCase(), without a
 * leading CAP_. Only the result's equality with an (ASCII) capability name matters, so besides
 * a-z only the characters whose upper case is ASCII are mapped (ß → SS, ſ → S, ı → I, the ﬀ-ﬆ
 * ligatures); any other non-ASCII character stays and cannot match. */
static str capability_key(str s)
{
	static const struct {
		uint32_t c;
		const char *upper;
	} SPECIAL[] = {
		{ 0xdf, "SS" }, { 0x131, "I" }, { 0x17f, "S" }, { 0xfb00, "FF" }, { 0xfb01, "FI" },
		{ 0xfb02, "FL" }, { 0xfb03, "FFI" }, { 0xfb04, "FFL" }, { 0xfb05, "ST" }, { 0xfb06, "ST" },
	};
	s = str_trim(s);
	strbuf b = { 0 };
	for (uint32_t i = 0; i < s.len;) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c < 0x80) {
			sb_add_byte(&b, (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
			i++;
			continue;
		}
		uint32_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2, cp = c & (0x7f >> n);
		if (i + n > s.len)
			n = 1; /* cut short (not valid UTF-8): kept as is, matches nothing */
		for (uint32_t k = 1; k < n; k++)
			cp = cp << 6 | ((unsigned char)s.ptr[i + k] & 0x3f);
		const char *upper = 0;
		for (size_t k = 0; k < COUNT(SPECIAL); k++)
			if (SPECIAL[k].c == cp)
				upper = SPECIAL[k].upper;
		if (upper)
			sb_add_c(&b, upper);
		else
			sb_add(&b, (str){ s.ptr + i, n });
		i += n;
	}
	str key = sb_str(&b);
	str prefix = str_c("CAP_");
	return str_starts(key, prefix) ? (str){ key.ptr + prefix.len, key.len - prefix.len } : key;
}

/* The dangerous capabilities the container asks for that allow-capabilities does not exempt (run
 * only when it asks for one) */
static BOX_COLD void capability_reasons(const box_request *req, strlist *reasons)
{
	const box_security *security = &req->container.security;
	opt_str allow = arg(req, "allow-capabilities");
	box_list_string items = str_split(allow.set ? allow.val : str_c(""), ',');
	strlist allowed = { 0 };
	for (uint32_t i = 0; i < items.len; i++)
		list_add(&allowed, capability_key(items.ptr[i]));
	strlist refused = { 0 };
	for (uint32_t i = 0; i < security->capabilities.len; i++) {
		str cap = security->capabilities.ptr[i];
		if (dangerous(cap) && !list_has(&allowed, cap))
			list_add(&refused, cap);
	}
	if (refused.len)
		say(reasons, "dangerous capabilities are not allowed: %s", list_join(&refused, ", "));
}

/* The bind mounts of sensitive host paths (run only when the container has a bind mount) */
static BOX_APART void bind_mount_reasons(const box_request *req, strlist *reasons)
{
	const box_container *c = &req->container;
	/* the trees a bind mount must not reach into, and (with the sockets) must not expose */
	strlist trees = { 0 };
	for (size_t i = 0; i < COUNT(SENSITIVE_TREES); i++)
		list_add(&trees, str_c(SENSITIVE_TREES[i]));
	list_add(&trees, normalise(req->host.storage_root));
	list_add(&trees, normalise(req->host.runtime_root));
	strlist exposable = { 0 };
	for (size_t i = 0; i < COUNT(SOCKETS); i++)
		list_add(&exposable, str_c(SOCKETS[i]));
	for (uint32_t i = 0; i < trees.len; i++)
		list_add(&exposable, trees.ptr[i]);

	for (uint32_t i = 0; i < c->mounts.len; i++) {
		const box_mount *m = &c->mounts.ptr[i];
		if (m->kind != BOX_MOUNT_BIND)
			continue;
		str src = normalise(m->source);
		if (str_eq_c(src, "/")) {
			say(reasons, "bind mount of %s is not allowed (the host's root)", m->source);
			continue;
		}
		bool inside = false;
		for (uint32_t k = 0; k < trees.len && !inside; k++)
			inside = within(src, trees.ptr[k]);
		if (inside) {
			say(reasons, "bind mount of %s is not allowed (a sensitive host path)", m->source);
			continue;
		}
		for (uint32_t k = 0; k < exposable.len; k++) {
			if (within(exposable.ptr[k], src)) {
				say(reasons, "bind mount of %s is not allowed (it exposes %s)", m->source, exposable.ptr[k]);
				break;
			}
		}
	}
}

void isolation_reasons(const box_request *req, strlist *reasons)
{
	const box_container *c = &req->container;
	if (c->security.privileged)
		list_add(reasons, STR("privileged containers are not allowed"));
	if (c->namespaces.pid.tag == BOX_NS_HOST)
		list_add(reasons, STR("the host's PID namespace is not allowed"));
	if (c->namespaces.ipc.tag == BOX_NS_HOST)
		list_add(reasons, STR("the host's IPC namespace is not allowed"));
	if (c->network.mode.tag == BOX_NET_HOST)
		list_add(reasons, STR("the host's network namespace is not allowed"));
	if (!c->security.privileged) {
		for (uint32_t i = 0; i < c->security.capabilities.len; i++) {
			if (dangerous(c->security.capabilities.ptr[i])) {
				capability_reasons(req, reasons);
				break;
			}
		}
	}
	for (uint32_t i = 0; i < c->mounts.len; i++) {
		if (c->mounts.ptr[i].kind == BOX_MOUNT_BIND) {
			bind_mount_reasons(req, reasons);
			break;
		}
	}
}
