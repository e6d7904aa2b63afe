/* box-helper: the signals the helper forwards to the container (or an exec's process) and the
 * signal mask it started with, which everything it runs gets back before it runs. */
#define _GNU_SOURCE
#include "signals.h"
#include "report.h"

#include <errno.h>
#include <sys/signalfd.h>

static sigset_t forwarded; /* taken from a signalfd by the parent and sent on to the child */
static sigset_t origmask;  /* the mask at start */

void signals_block(int no_winch)
{
	int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigemptyset(&forwarded);
	for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
		sigaddset(&forwarded, fwd[i]);
	if (no_winch)
		sigdelset(&forwarded, SIGWINCH); /* no terminal */
	sigset_t block = forwarded;
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &origmask);
}

const sigset_t *signals_forwarded(void)
{
	return &forwarded;
}

int signals_fd(void)
{
	sigset_t set = forwarded;
	sigaddset(&set, SIGCHLD);
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd", errno, "signalfd");
	return fd;
}

void signals_restore(void)
{
	sigprocmask(SIG_SETMASK, &origmask, NULL);
}
