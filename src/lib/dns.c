/*
 * dns - MX and address lookups through c-ares.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static ares_channel channel;
static int ready;
static char why[256];

int
dns_init(const char *servers)
{
	struct ares_options opts;

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return -1;
	memset(&opts, 0, sizeof opts);
	opts.timeout = 5000;	/* ms per try */
	opts.tries = 3;
	if (ares_init_options(&channel, &opts, ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES) != ARES_SUCCESS)
		return -1;
	if (servers != NULL && servers[0] != '\0' &&
	    ares_set_servers_ports_csv(channel, servers) != ARES_SUCCESS) {
		errno = EINVAL;
		return -1;
	}
	ready = 1;
	return 0;
}

const char *
dns_error(void)
{
	return why;
}

/* Run the channel until every query is answered. */
static void
wait_all(void)
{
	for (;;) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pf[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp;
		int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
		nfds_t n = 0;
		int ms, r;

		if (bits == 0)
			return;
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;

			/*
			 * Not ARES_GETSOCK_WRITABLE: it shifts a signed 1 by
			 * up to 31 places, which is undefined.
			 */
			if ((unsigned)bits & (1u << i))
				ev |= POLLIN;
			if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (ev == 0)
				continue;
			pf[n].fd = socks[i];
			pf[n].events = ev;
			pf[n].revents = 0;
			n++;
		}
		tvp = ares_timeout(channel, NULL, &tv);
		ms = tvp != NULL ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) :
		    1000;
		r = poll(pf, n, ms);
		if (r < 0 && errno != EINTR)
			return;
		if (r <= 0) {
			ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < n; i++)
			ares_process_fd(channel,
			    pf[i].revents & (POLLIN | POLLERR | POLLHUP) ?
			    pf[i].fd : ARES_SOCKET_BAD,
			    pf[i].revents & POLLOUT ? pf[i].fd : ARES_SOCKET_BAD);
	}
}

static int
status_of(int status, const char *name)
{
	if (status == ARES_SUCCESS)
		return DNS_OK;
	snprintf(why, sizeof why, "%s: %s", name, ares_strerror(status));
	if (status == ARES_ENODATA)
		return DNS_NONE;
	if (status == ARES_ENOTFOUND)
		return DNS_NXDOMAIN;
	return DNS_TEMP;
}

struct mxq {
	struct dns_mx *mx;
	size_t max, n;
	int status;
};

static void
on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct mxq *q = arg;
	struct ares_mx_reply *reply = NULL;

	(void)timeouts;
	q->status = status;
	if (status != ARES_SUCCESS)
		return;
	q->status = ares_parse_mx_reply(abuf, alen, &reply);
	if (q->status != ARES_SUCCESS)
		return;
	for (struct ares_mx_reply *r = reply; r != NULL && q->n < q->max;
	    r = r->next) {
		if (strlen(r->host) > DNS_NAME_MAX)
			continue;
		strcpy(q->mx[q->n].host, r->host);
		q->mx[q->n].pref = r->priority;
		q->n++;
	}
	ares_free_data(reply);
}

int
dns_mx(const char *domain, struct dns_mx *mx, size_t max, size_t *n)
{
	struct mxq q = { mx, max, 0, ARES_ETIMEOUT };

	*n = 0;
	why[0] = '\0';
	if (!ready && dns_init(NULL) == -1) {
		snprintf(why, sizeof why, "cannot start the resolver");
		return DNS_TEMP;
	}
	ares_query(channel, domain, ns_c_in, ns_t_mx, on_mx, &q);
	wait_all();
	if (q.status != ARES_SUCCESS)
		return status_of(q.status, domain);
	/* a stable sort by preference */
	for (size_t i = 1; i < q.n; i++) {
		struct dns_mx t = mx[i];
		size_t j = i;

		while (j > 0 && mx[j - 1].pref > t.pref) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = t;
	}
	*n = q.n;
	return q.n > 0 ? DNS_OK : DNS_NONE;
}

struct aq {
	struct dns_addr *a;
	size_t max, n;
	int status;
};

static void
on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct aq *q = arg;

	(void)timeouts;
	q->status = status;
	if (status != ARES_SUCCESS || res == NULL)
		return;
	for (struct ares_addrinfo_node *p = res->nodes; p != NULL &&
	    q->n < q->max; p = p->ai_next) {
		if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) ||
		    p->ai_addrlen > sizeof q->a[q->n].sa)
			continue;
		memcpy(&q->a[q->n].sa, p->ai_addr, p->ai_addrlen);
		q->a[q->n].len = (socklen_t)p->ai_addrlen;
		q->n++;
	}
	ares_freeaddrinfo(res);
}

int
dns_addrs(const char *host, struct dns_addr *a, size_t max, size_t *n)
{
	struct ares_addrinfo_hints hints;
	struct aq q = { a, max, 0, ARES_ETIMEOUT };

	*n = 0;
	why[0] = '\0';
	if (!ready && dns_init(NULL) == -1) {
		snprintf(why, sizeof why, "cannot start the resolver");
		return DNS_TEMP;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	ares_getaddrinfo(channel, host, NULL, &hints, on_addr, &q);
	wait_all();
	if (q.status != ARES_SUCCESS)
		return status_of(q.status, host);
	*n = q.n;
	return q.n > 0 ? DNS_OK : DNS_NONE;
}
