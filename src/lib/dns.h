/*
 * dns - MX and address lookups through c-ares.
 *
 * c-ares (Debian's libc-ares) is used rather than libresolv because it
 * takes DNS servers with ports (control/dnsservers, "127.0.0.1:5353"),
 * which lets the tests run a DNS server of their own on loopback, and
 * because it parses the answers: no packet is parsed here.
 */
#ifndef VDMAIL_DNS_H
#define VDMAIL_DNS_H

#include <stddef.h>
#include <sys/socket.h>

enum {
	DNS_MX_MAX = 32,
	DNS_ADDR_MAX = 16,
	DNS_NAME_MAX = 255
};

enum dns_status {
	DNS_OK = 0,
	DNS_NONE = 1,		/* the name exists but has no such record */
	DNS_NXDOMAIN = 2,	/* the name does not exist */
	DNS_TEMP = -1		/* timeout, server failure: try later */
};

struct dns_mx {
	char host[DNS_NAME_MAX + 1];
	unsigned pref;
};

struct dns_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

/* servers: "ip[:port],..." or NULL for the system's resolv.conf. */
int dns_init(const char *servers);
/* MX records, lowest preference first (ties in the order received). */
int dns_mx(const char *domain, struct dns_mx *mx, size_t max, size_t *n);
/* IPv6 and IPv4 addresses of host. */
int dns_addrs(const char *host, struct dns_addr *a, size_t max, size_t *n);
/* Why the last lookup failed, in words. */
const char *dns_error(void);

#endif
