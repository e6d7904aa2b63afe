/* box's built-in `capacity` policy: admits a start only if the memory committed by the running
 * containers plus this one stays within a share of the host's memory, and likewise for cpus —
 * the guard against many containers starting at once and starving each other.
 *
 * Arguments: memory-share (fraction of host memory, default 0.9), cpu-share (fraction of the
 * host's cpus, default 1.0; above 1 overcommits), unlimited (deny | allow, default deny: a
 * container without a memory or cpu limit cannot be accounted for).
 */
#include "policy.h"

void policy_describe(box_info *info)
{
	static box_argument args[3];
	args[0] = (box_argument){ str_c("memory-share"), str_c("fraction of host memory that may be committed (default 0.9)") };
	args[1] = (box_argument){ str_c("cpu-share"), str_c("fraction of host cpus that may be committed (default 1.0)") };
	args[2] = (box_argument){ str_c("unlimited"), str_c("deny (default) or allow containers without limits") };
	info->name = str_c("capacity");
	info->version = str_c("0.1.0");
	info->description = str_c("Admits a start only if committed memory and cpus plus the request stay within a share of the host.");
	info->arguments = (box_list_argument){ args, 3 };
}

/* The messages of what does not fit, each formatted in a function of its own (BOX_COLD in
 * policy.h: a start that fits never compiles them) */

static BOX_COLD void say_unlimited_arg(strlist *reasons, str unlimited)
{
	say(reasons, "policy argument unlimited=%s must be deny or allow", unlimited);
}

static BOX_COLD void say_memory(strlist *reasons, const box_host *h, uint64_t memory, big budget, double share)
{
	say(reasons, "not enough memory: %M committed by %u running containers + %M requested > %M (%g%% of %M)",
	    big_u64(h->committed.memory), (uint64_t)h->committed.containers, big_u64(memory), budget, share * 100,
	    big_u64(h->memory_total));
}

static BOX_COLD void say_cpu(strlist *reasons, const box_host *h, big cpu, double budget, double share)
{
	say(reasons, "not enough cpu: %g committed + %g requested > %g (%g%% of %u cpus)", (double)h->committed.millicpus / 1000,
	    big_to_double(cpu) / 1000, budget / 1000, share * 100, (uint64_t)h->cpus);
}

static BOX_COLD void say_unaccounted(strlist *warnings, const box_committed *committed)
{
	uint32_t n = committed->unlimited_memory > committed->unlimited_cpu ? committed->unlimited_memory : committed->unlimited_cpu;
	say(warnings, "%u running containers have no limit and are not accounted for", (uint64_t)n);
}

void policy_evaluate(const box_request *req, box_verdict *v)
{
	strlist reasons = { 0 }, warnings = { 0 };
	double memory_share = number_arg(req, "memory-share", 0.9, &reasons);
	double cpu_share = number_arg(req, "cpu-share", 1.0, &reasons);
	opt_str given = arg(req, "unlimited");
	str unlimited = given.set ? given.val : str_c("deny");
	if (!str_eq_c(unlimited, "deny") && !str_eq_c(unlimited, "allow"))
		say_unlimited_arg(&reasons, unlimited);
	bool deny_unlimited = str_eq_c(unlimited, "deny");
	const box_host *h = &req->host;
	const box_option_u64 memory = req->container.resources.memory;
	big cpu;
	bool cpu_limited = millicpus(req, &cpu);
	/* BigInt(Math.round(...)): exact, and a trap for Infinity, as in the original */
	big memory_budget = big_div(big_mul(big_u64(h->memory_total), big_of_double(js_round(memory_share * 1000))), big_u64(1000));
	double cpu_budget = js_round((double)h->cpus * cpu_share * 1000);
	big cpu_budget_big = big_of_double(cpu_budget);

	if (!memory.is_some) {
		if (deny_unlimited)
			list_add(&reasons, STR("a memory limit is required so that the start can be accounted for (--memory)"));
		else
			list_add(&warnings, STR("no memory limit: not accounted for"));
	} else if (big_cmp(big_add(big_u64(h->committed.memory), big_u64(memory.val)), memory_budget) > 0) {
		say_memory(&reasons, h, memory.val, memory_budget, memory_share);
	}
	if (!cpu_limited) {
		if (deny_unlimited)
			list_add(&reasons, STR("a cpu limit is required so that the start can be accounted for (--cpus)"));
		else
			list_add(&warnings, STR("no cpu limit: not accounted for"));
	} else if (big_cmp(big_add(big_u64(h->committed.millicpus), cpu), cpu_budget_big) > 0) {
		say_cpu(&reasons, h, cpu, cpu_budget, cpu_share);
	}
	if (h->committed.unlimited_memory > 0 || h->committed.unlimited_cpu > 0)
		say_unaccounted(&warnings, &h->committed);
	v->decision = reasons.len ? BOX_DENY : BOX_ALLOW;
	v->reasons = list_done(&reasons);
	v->warnings = list_done(&warnings);
}
