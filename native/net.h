/* box-helper: network steps inside the container's network namespace (net.c). */
#ifndef BOX_NET_H
#define BOX_NET_H

void loopback_up(void);

#endif
