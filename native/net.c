/* box-helper: network steps inside the container's network namespace. */
#define _GNU_SOURCE
#include "net.h"
#include "report.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A new network namespace starts with `lo` down; every program expects 127.0.0.1 to work. */
void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		cfail("loopback-up", errno, "socket");
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		cfail("loopback-up", errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		cfail("loopback-up", errno, "bring lo up");
	close(fd);
}
