/* box's built-in `strict` policy: baseline's denials (isolation.c), plus required resource
 * limits within bounds, a non-root user, a network that is none or a bridge without privileged
 * host ports, and images only from allowed registries. It corrects what can be corrected: the
 * root filesystem and bind mounts are made read-only, no-new-privileges is set.
 *
 * Arguments: max-memory (default 2g), max-cpus (default: the host's cpus), max-pids (default
 * 4096), registries (comma-separated registry hosts, default docker.io), bind-sources
 * (comma-separated host directories bind mounts may come from; default: any baseline allows),
 * networks and host-ports (netrules.c: the bridge networks it may join, the host ports it may
 * publish; privileged host ports stay refused whatever host-ports allows).
 */
#include "policy.h"

void policy_describe(box_info *info)
{
	static box_argument args[7];
	args[0] = (box_argument){ str_c("max-memory"), str_c("largest memory limit allowed (default 2g)") };
	args[1] = (box_argument){ str_c("max-cpus"), str_c("largest cpu limit allowed (default: the host's cpus)") };
	args[2] = (box_argument){ str_c("max-pids"), str_c("largest pids limit allowed (default 4096)") };
	args[3] = (box_argument){ str_c("registries"), str_c("comma-separated registries images may come from (default docker.io)") };
	args[4] = (box_argument){ str_c("bind-sources"),
				  str_c("comma-separated host directories bind mounts may come from (default: any baseline allows)") };
	args[5] = (box_argument){ str_c("networks"), str_c("comma-separated bridge networks containers may join (default: any)") };
	args[6] = (box_argument){ str_c("host-ports"),
				  str_c("comma-separated host ports and ranges containers may publish, e.g. 8000-8999 (default: any above 1023)") };
	info->name = str_c("strict");
	info->version = str_c("0.1.0");
	info->description = str_c("Baseline plus required limits within bounds, non-root user, read-only root filesystem and bind mounts, "
				  "no privileged host ports, allowed registries only.");
	info->arguments = (box_list_argument){ args, 7 };
}

/* The denials' messages and the checks only some requests need, each a function of its own
 * (BOX_COLD, BOX_APART: policy.h) */

static BOX_COLD void memory_reason(strlist *reasons, const box_resources *r, big max_memory)
{
	if (!r->memory.is_some)
		say(reasons, "a memory limit is required (--memory, at most %M)", max_memory);
	else
		say(reasons, "memory limit %M is above the maximum of %M", big_u64(r->memory.val), max_memory);
}

/* cpu: the container's millicpus, or null for no limit */
static BOX_COLD void cpu_reason(strlist *reasons, const big *cpu, double max_cpus)
{
	if (!cpu)
		say(reasons, "a cpu limit is required (--cpus, at most %g)", max_cpus);
	else
		say(reasons, "cpu limit %g is above the maximum of %g", big_to_double(*cpu) / 1000, max_cpus);
}

static BOX_COLD void pids_reason(strlist *reasons, const box_resources *r, double max_pids)
{
	if (!r->pids_limit.is_some || r->pids_limit.val <= 0)
		say(reasons, "a pids limit is required (--pids-limit, at most %g)", max_pids);
	else
		say(reasons, "pids limit %d is above the maximum of %g", r->pids_limit.val, max_pids);
}

static BOX_APART void privileged_port_reasons(const box_container *c, strlist *reasons)
{
	strlist low = { 0 };
	for (uint32_t i = 0; i < c->network.published_ports.len; i++) {
		uint16_t port = c->network.published_ports.ptr[i].host_port;
		if (port > 0 && port < 1024)
			list_add(&low, fmt("%u", (uint64_t)port));
	}
	if (low.len)
		say(reasons, "publishing privileged host ports is not allowed: %s", list_join(&low, ", "));
}

/* bind-sources=: every bind mount's source must be within one of the value's directories */
static BOX_APART void bind_source_reasons(const box_container *c, str value, strlist *reasons)
{
	box_list_string dirs = str_split(value, ',');
	strlist allowed = { 0 };
	for (uint32_t i = 0; i < dirs.len; i++) {
		str dir = str_trim(dirs.ptr[i]);
		if (dir.len)
			list_add(&allowed, normalise(dir));
	}
	for (uint32_t i = 0; i < c->mounts.len; i++) {
		const box_mount *m = &c->mounts.ptr[i];
		if (m->kind != BOX_MOUNT_BIND)
			continue;
		bool ok = false;
		for (uint32_t k = 0; k < allowed.len && !ok; k++)
			ok = within(normalise(m->source), allowed.ptr[k]);
		if (!ok)
			say(reasons, "bind mount of %s is not allowed (allowed sources: %s)", m->source,
			    allowed.len ? list_join(&allowed, ", ") : str_c("none"));
	}
}

/* registry: the image's (empty when unknown) */
static BOX_COLD void registry_reason(strlist *reasons, str reference, str registry, const strlist *registries)
{
	if (registry.len == 0)
		say(reasons, "the image's registry is unknown (%s has no name from a single registry): run it by a name from an allowed registry (%s)",
		    reference.len ? reference : str_c("the image"), list_join(registries, ", "));
	else
		say(reasons, "images from %s are not allowed (allowed: %s)", registry, list_join(registries, ", "));
}

/* The bind mounts made read-only (their destinations added to read_only); whether there was one */
static BOX_APART bool patch_bind_mounts(const box_container *c, strlist *read_only, strlist *warnings)
{
	bool patched = false;
	for (uint32_t i = 0; i < c->mounts.len; i++) {
		const box_mount *m = &c->mounts.ptr[i];
		if (m->kind == BOX_MOUNT_BIND && !m->read_only) {
			list_add(read_only, m->destination);
			patched = true;
			say(warnings, "bind mount %s made read-only", m->destination);
		}
	}
	return patched;
}

void policy_evaluate(const box_request *req, box_verdict *v)
{
	const box_container *c = &req->container;
	const box_resources *r = &c->resources;
	strlist reasons = { 0 };
	isolation_reasons(req, &reasons);
	network_reasons(req, &reasons);
	big max_memory = bytes_arg(req, "max-memory", big_u64(2ull << 30), &reasons);
	double max_cpus = number_arg(req, "max-cpus", req->host.cpus, &reasons);
	double max_pids = number_arg(req, "max-pids", 4096, &reasons);
	opt_str given = arg(req, "registries");
	strlist registries = { 0 };
	if (given.set)
		registries = list_items(given.val);
	else
		list_add(&registries, STR("docker.io"));

	if (!r->memory.is_some || big_cmp(big_u64(r->memory.val), max_memory) > 0)
		memory_reason(&reasons, r, max_memory);
	big cpu;
	bool cpu_limited = millicpus(req, &cpu);
	if (!cpu_limited || big_to_double(cpu) > max_cpus * 1000)
		cpu_reason(&reasons, cpu_limited ? &cpu : 0, max_cpus);
	if (!r->pids_limit.is_some || r->pids_limit.val <= 0 || (double)r->pids_limit.val > max_pids)
		pids_reason(&reasons, r, max_pids);
	if (c->user.uid == 0)
		list_add(&reasons, STR("containers must not run as root (use --user or an image with a non-root USER)"));
	if (c->network.mode.tag == BOX_NET_CONTAINER || c->network.mode.tag == BOX_NET_NAMESPACE)
		list_add(&reasons, STR("sharing another container's network is not allowed"));
	if (c->network.mode.tag == BOX_NET_BRIDGE && c->network.published_ports.len)
		privileged_port_reasons(c, &reasons);
	opt_str sources = arg(req, "bind-sources");
	if (sources.set)
		bind_source_reasons(c, sources.val, &reasons);
	str registry = registry_of(c->image.reference);
	if (registry.len == 0 || !list_has(&registries, registry))
		registry_reason(&reasons, c->image.reference, registry, &registries);
	if (reasons.len) {
		v->decision = BOX_DENY;
		v->reasons = list_done(&reasons);
		return;
	}

	strlist warnings = { 0 }, read_only = { 0 };
	box_patch *patch = &v->patch.val;
	bool patched = false;
	if (!c->security.read_only_rootfs) {
		patch->read_only_rootfs = patched = true;
		list_add(&warnings, STR("root filesystem made read-only"));
	}
	if (!c->security.no_new_privileges) {
		patch->no_new_privileges = patched = true;
		list_add(&warnings, STR("no-new-privileges set"));
	}
	if (c->mounts.len && patch_bind_mounts(c, &read_only, &warnings))
		patched = true;
	patch->read_only_mounts = list_done(&read_only);
	v->patch.is_some = patched;
	v->decision = BOX_ALLOW;
	v->warnings = list_done(&warnings);
}
