/* box's built-in `baseline` policy: refuses what breaks container isolation outright —
 * privileged containers, the host's PID/IPC/network namespaces, dangerous capabilities, bind
 * mounts of sensitive host paths (isolation.c) — and sets default limits when none are given.
 *
 * Arguments: default-memory (size, default 1g, never more than half the host's memory),
 * default-pids (default 4096), allow-capabilities (comma-separated names exempt from the list),
 * networks and host-ports (netrules.c: the bridge networks it may join, the host ports it may publish).
 */
#include "policy.h"

void policy_describe(box_info *info)
{
	static box_argument args[5];
	args[0] = (box_argument){ str_c("default-memory"), str_c("memory limit set when none is given (default 1g, at most half the host memory)") };
	args[1] = (box_argument){ str_c("default-pids"), str_c("pids limit set when none is given (default 4096)") };
	args[2] = (box_argument){ str_c("allow-capabilities"), str_c("comma-separated dangerous capabilities to allow anyway") };
	args[3] = (box_argument){ str_c("networks"), str_c("comma-separated bridge networks containers may join (default: any)") };
	args[4] = (box_argument){ str_c("host-ports"),
				  str_c("comma-separated host ports and ranges containers may publish, e.g. 80,443,8000-8999 (default: any)") };
	info->name = str_c("baseline");
	info->version = str_c("0.1.0");
	info->description = str_c("Denies privileged containers, host namespaces, dangerous capabilities and sensitive host mounts; "
				  "sets default memory and pids limits.");
	info->arguments = (box_list_argument){ args, 5 };
}

/* The limits a container given none gets, with a warning for each (a function of its own,
 * BOX_APART in policy.h: a start that sets both never compiles it). pids: the default-pids
 * argument, a whole non-negative number. */
static BOX_APART void set_default_limits(const box_resources *r, bool no_pids, big memory, double pids, box_verdict *v,
					 strlist *warnings)
{
	box_limits_patch *limits = &v->patch.val.limits.val;
	v->patch.is_some = 1;
	v->patch.val.limits.is_some = 1;
	if (!r->memory.is_some) {
		/* a size beyond 64 bits wraps, as JavaScript's u64 lowering of a BigInt does */
		limits->memory = (box_option_u64){ 1, big_low64(memory) };
		say(warnings, "no memory limit given: set to %M", memory);
	}
	if (no_pids) {
		big n = big_of_double(pids);
		limits->pids_limit = (box_option_s64){ 1, (int64_t)big_low64(n) };
		say(warnings, "no pids limit given: set to %B", n);
	}
}

void policy_evaluate(const box_request *req, box_verdict *v)
{
	const box_resources *r = &req->container.resources;
	strlist reasons = { 0 }, problems = { 0 }, warnings = { 0 };
	isolation_reasons(req, &reasons);
	network_reasons(req, &reasons);
	big half = big_u64(req->host.memory_total / 2);
	big memory = bytes_arg(req, "default-memory", big_u64(1ull << 30), &problems);
	if (!big_is_zero(half) && big_cmp(memory, half) > 0)
		memory = half;
	/* a whole number (number_arg's are finite and non-negative), so BigInt() of it cannot throw */
	double pids = js_floor(number_arg(req, "default-pids", 4096, &problems));
	if (problems.len || reasons.len) {
		for (uint32_t i = 0; i < problems.len; i++)
			list_add(&reasons, problems.ptr[i]);
		v->decision = BOX_DENY;
		v->reasons = list_done(&reasons);
		return;
	}
	bool no_pids = !r->pids_limit.is_some || r->pids_limit.val < 0;
	if (!r->memory.is_some || no_pids)
		set_default_limits(r, no_pids, memory, pids, v, &warnings);
	v->decision = BOX_ALLOW;
	v->warnings = list_done(&warnings);
}
