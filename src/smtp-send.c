/*
 * smtp-send - deliver one message to the recipients of one domain by SMTP.
 *
 * Usage:  smtp-send DOMAIN SENDER RECIPIENT...
 * fd 0:   the message, LF line ends (a regular file from its current
 *         offset; a pipe is first copied to an unlinked temporary file).
 * stdout: one line per recipient, in order:
 *           ok<TAB>RECIPIENT<TAB>text      delivered
 *           defer<TAB>RECIPIENT<TAB>text   temporary failure: try later
 *           fail<TAB>RECIPIENT<TAB>text    permanent failure: bounce
 *         The text quotes the remote server's reply where there is one.
 * Exit:   0 with every line printed; 100 bad usage; 111 trouble before
 *         any line (the caller defers every recipient).
 *
 * The route: control/smtproutes ("domain:host[:port]", ".suffix:...",
 * ":..." for every domain; an empty host means MX), else MX records,
 * lowest preference first, else the domain's own A/AAAA records.  A
 * host that cannot be reached, or whose greeting or EHLO fails, gives
 * way to the next one.  A server that greets with our own name
 * (control/me) is us: the mail would loop, and it fails.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "dns.h"
#include "fmt.h"
#include "line.h"
#include "xio.h"

enum {
	REPLY_LINE_MAX = 1024,		/* bytes of one reply line */
	REPLY_LINES_MAX = 100,		/* lines of one reply */
	TEXT_MAX = 512,			/* of a reply quoted in a result */
	HOSTS_MAX = DNS_MX_MAX,
	TIMEOUT_CONNECT = 60,
	TIMEOUT_REMOTE = 1200,
	SMTP_PORT = 25
};

enum { RES_NONE, RES_OK, RES_DEFER, RES_FAIL, RES_ACCEPTED };

static const char *domain, *sender;
static char **rcpt;
static size_t nrcpt;
static int *res;
static char **text;
static char me[DOMAIN_BYTES_MAX + 1];
static unsigned long tconnect = TIMEOUT_CONNECT, tremote = TIMEOUT_REMOTE;
static off_t base;
static long long msgsize;

struct host {
	char name[DNS_NAME_MAX + 1];
	unsigned port;
};

struct reply {
	int code;
	char text[TEXT_MAX];
};

static void
set_all(int r, const char *why)
{
	for (size_t i = 0; i < nrcpt; i++)
		if (res[i] == RES_NONE || res[i] == RES_ACCEPTED) {
			res[i] = r;
			free(text[i]);
			text[i] = strdup(why);
		}
}

static void
set_one(size_t i, int r, const char *why)
{
	res[i] = r;
	free(text[i]);
	text[i] = strdup(why);
}


/* "host[:port]" or "[literal][:port]"; an empty host means MX. */
static int
parse_relay(const char *s, struct host *h)
{
	const char *end = s + strlen(s), *colon;

	h->port = SMTP_PORT;
	h->name[0] = '\0';
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || (size_t)(rb - s - 1) > DNS_NAME_MAX)
			return -1;
		memcpy(h->name, s + 1, (size_t)(rb - s - 1));
		h->name[rb - s - 1] = '\0';
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(s, ':');
		if ((size_t)((colon ? colon : end) - s) > DNS_NAME_MAX)
			return -1;
		memcpy(h->name, s, (size_t)((colon ? colon : end) - s));
		h->name[(colon ? colon : end) - s] = '\0';
	}
	if (colon != NULL) {
		char *e;
		unsigned long p = strtoul(colon + 1, &e, 10);

		if (!isdigit((unsigned char)colon[1]) || *e != '\0' || p == 0 ||
		    p > 65535)
			return -1;
		h->port = (unsigned)p;
	}
	return 0;
}

/* The smtproutes entry for the domain: 1 found, 0 none, -1 trouble. */
static int
smtproute(struct host *h)
{
	struct strlist l;
	const char *best = NULL;
	size_t bestlen = 0, dl = strlen(domain);
	int r, rank = 0;

	if (control_list("smtproutes", 0, &l) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		char *c = strchr(l.v[i], ':');
		size_t kl;
		int k = 0;

		if (c == NULL)
			continue;
		*c = '\0';
		for (char *p = l.v[i]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		kl = strlen(l.v[i]);
		if (kl == 0)
			k = 1;
		else if (strcasecmp(l.v[i], domain) == 0)
			k = 3;
		else if (l.v[i][0] == '.' && dl > kl &&
		    strcasecmp(domain + dl - kl, l.v[i]) == 0)
			k = 2;
		if (k > rank || (k == 2 && rank == 2 && kl > bestlen)) {
			rank = k;
			best = c + 1;
			bestlen = kl;
		}
	}
	r = 0;
	if (best != NULL) {
		r = parse_relay(best, h) == 0 ? 1 : -1;
		if (r < 0)
			errno = EINVAL;
	}
	strlist_free(&l);
	return r;
}

static int
connect_to(const struct dns_addr *a, unsigned port, char *err, size_t esz)
{
	struct sockaddr_storage sa = a->sa;
	struct pollfd p;
	struct timeval tv;
	int fd, e = 0, flags;
	socklen_t el = sizeof e;

	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fmt(err, esz, "socket: %s", strerror(errno));
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa, a->len) == -1) {
		if (errno != EINPROGRESS) {
			fmt(err, esz, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		p.fd = fd;
		p.events = POLLOUT;
		if (poll(&p, 1, (int)(tconnect * 1000)) <= 0) {
			fmt(err, esz, "connection timed out");
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1 || e) {
			fmt(err, esz, "%s", strerror(e ? e : errno));
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, flags);
	tv.tv_sec = (time_t)tremote;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/*
 * One line of a reply, LF removed, into line (max bytes): LINE_OK, or an
 * error.  The whole reply must come before deadline (CLOCK_MONOTONIC),
 * however slowly its bytes trickle in, and a line longer than max is an
 * error at once: a server that sends bytes without end holds no slot.
 */
static int
reply_line(struct rbuf *in, char *line, size_t max, size_t *len,
    const struct timespec *deadline)
{
	size_t n = 0;

	for (;;) {
		int c;

		if (rbuf_pending(in) == 0) {
			struct timespec now;
			long long ms;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
			    (deadline->tv_nsec - now.tv_nsec) / 1000000;
			if (ms <= 0)
				return LINE_TIMEOUT;
			in->timeout_ms = (int)ms;
		}
		c = rbuf_getc(in);
		if (c < 0)
			return c == LINE_EOF && n > 0 ? LINE_PARTIAL : c;
		if (c == '\n') {
			line[n] = '\0';
			*len = n;
			return LINE_OK;
		}
		if (n + 2 > max)
			return LINE_TOOLONG;
		line[n++] = (char)c;
	}
}

/*
 * Read one (multi-line) reply, all of it within control/timeoutremote;
 * the code, or -1 on timeout, EOF or a malformed or over-long reply.
 */
static int
get_reply(struct rbuf *in, struct reply *r, char *lines, size_t lsize)
{
	char line[REPLY_LINE_MAX];
	struct timespec deadline;
	size_t len, tl = 0;

	if (lines != NULL)
		lines[0] = '\0';
	r->text[0] = '\0';
	r->code = -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)tremote;
	for (int n = 0; n < REPLY_LINES_MAX; n++) {
		if (reply_line(in, line, sizeof line, &len, &deadline) != LINE_OK)
			return -1;
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]))
			return -1;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				line[i] = '?';
		if (tl + len + 2 < sizeof r->text) {
			if (tl > 0)
				r->text[tl++] = ' ';
			memcpy(r->text + tl, line, len);
			tl += len;
			r->text[tl] = '\0';
		}
		if (lines != NULL && strlen(lines) + len + 2 < lsize) {
			strcat(lines, line + (len > 4 ? 4 : len));
			strcat(lines, "\n");
		}
		if (len == 3 || line[3] == ' ') {
			r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
			return r->code;
		}
		if (line[3] != '-')
			return -1;
	}
	return -1;
}

static int
put(int fd, const char *s)
{
	return write_all(fd, s, strlen(s));
}

/* The message, dot-stuffed, LF as CRLF, then the final dot. */
static int
send_data(int fd)
{
	char in[65536], out[2 * 65536 + 8];
	off_t off = base;
	int bol = 1, last = '\n';

	for (;;) {
		ssize_t r = pread(0, in, sizeof in, off);
		size_t n = 0;

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		off += r;
		for (ssize_t i = 0; i < r; i++) {
			char c = in[i];

			if (bol && c == '.')
				out[n++] = '.';
			if (c == '\n')
				out[n++] = '\r';
			out[n++] = c;
			bol = c == '\n';
			last = c;
		}
		if (write_all(fd, out, n) == -1)
			return -1;
	}
	if (last != '\n' && put(fd, "\r\n") == -1)
		return -1;
	return put(fd, ".\r\n");
}

/*
 * One SMTP session with the server on fd.  Returns 1 when the session
 * decided the recipients (their results are set), 0 when the next host
 * should be tried (why in err).
 */
static int
session(int fd, const char *hostname, char *err, size_t esz)
{
	static struct rbuf in;
	char ehlo[4096], cmd[2 * ADDR_BYTES_MAX + 64], why[TEXT_MAX + 128];
	char qs[2 * ADDR_BYTES_MAX + 3], qr[2 * ADDR_BYTES_MAX + 3];
	struct reply r;
	int pipelining = 0, size = 0, accepted = 0;

	rbuf_init(&in, fd, (int)(tremote * 1000));
	if (get_reply(&in, &r, NULL, 0) < 0) {
		fmt(err, esz, "%s: no greeting", hostname);
		return 0;
	}
	if (r.code / 100 != 2) {
		fmt(err, esz, "%s greeted: %s", hostname, r.text);
		return 0;
	}
	fmt(cmd, sizeof cmd, "EHLO %s\r\n", me);
	if (put(fd, cmd) == -1 || get_reply(&in, &r, ehlo, sizeof ehlo) < 0) {
		fmt(err, esz, "%s: connection lost after EHLO", hostname);
		return 0;
	}
	if (r.code / 100 != 2) {
		fmt(cmd, sizeof cmd, "HELO %s\r\n", me);
		if (put(fd, cmd) == -1 || get_reply(&in, &r, NULL, 0) < 0 ||
		    r.code / 100 != 2) {
			fmt(err, esz, "%s refused HELO: %s", hostname, r.text);
			return 0;
		}
		ehlo[0] = '\0';
	}
	{
		/* the first EHLO line names the server: is it us? */
		char first[DNS_NAME_MAX + 1];
		size_t k = 0;
		const char *t = r.text + 4;

		if (strlen(r.text) <= 4)
			t = "";
		while (t[k] != '\0' && t[k] != ' ' && k < sizeof first - 1) {
			first[k] = t[k];
			k++;
		}
		first[k] = '\0';
		if (strcasecmp(first, me) == 0) {
			fmt(why, sizeof why, "mail for %s loops back to "
			    "myself (%s greets as %s) (#5.4.6)", domain,
			    hostname, me);
			set_all(RES_FAIL, why);
			put(fd, "QUIT\r\n");
			return 1;
		}
	}
	for (char *p = ehlo, *nl; p != NULL && *p != '\0'; p = nl) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (strcasecmp(p, "PIPELINING") == 0)
			pipelining = 1;
		else if (strncasecmp(p, "SIZE", 4) == 0 &&
		    (p[4] == '\0' || p[4] == ' '))
			size = 1;
	}
	/* a local part that is no dot-atom goes quoted: a space or a '>'
	 * in it must not end the path or add parameters */
	(void)addr_quote(qs, sizeof qs, sender);
	if (size)
		fmt(cmd, sizeof cmd, "MAIL FROM:<%s> SIZE=%lld\r\n", qs,
		    msgsize);
	else
		fmt(cmd, sizeof cmd, "MAIL FROM:<%s>\r\n", qs);
	if (put(fd, cmd) == -1)
		goto lost;
	if (pipelining) {
		for (size_t i = 0; i < nrcpt; i++) {
			(void)addr_quote(qr, sizeof qr, rcpt[i]);
			fmt(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", qr);
			if (put(fd, cmd) == -1)
				goto lost;
		}
		if (put(fd, "DATA\r\n") == -1)
			goto lost;
	}
	if (get_reply(&in, &r, NULL, 0) < 0)
		goto lost;
	if (r.code / 100 != 2) {
		fmt(why, sizeof why, "%s said: %s", hostname, r.text);
		set_all(r.code / 100 == 5 ? RES_FAIL : RES_DEFER, why);
		if (!pipelining)
			put(fd, "QUIT\r\n");
		else
			put(fd, "RSET\r\nQUIT\r\n");
		return 1;
	}
	for (size_t i = 0; i < nrcpt; i++) {
		if (!pipelining) {
			(void)addr_quote(qr, sizeof qr, rcpt[i]);
			fmt(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", qr);
			if (put(fd, cmd) == -1)
				goto lost;
		}
		if (get_reply(&in, &r, NULL, 0) < 0)
			goto lost;
		fmt(why, sizeof why, "%s said: %s", hostname, r.text);
		if (r.code / 100 == 2) {
			res[i] = RES_ACCEPTED;
			accepted++;
		} else {
			set_one(i, r.code / 100 == 5 ? RES_FAIL : RES_DEFER, why);
		}
	}
	if (!pipelining) {
		if (accepted == 0) {
			put(fd, "QUIT\r\n");
			return 1;
		}
		if (put(fd, "DATA\r\n") == -1)
			goto lost;
	}
	if (get_reply(&in, &r, NULL, 0) < 0)
		goto lost;
	if (r.code != 354) {
		if (accepted > 0) {
			fmt(why, sizeof why, "%s said: %s", hostname,
			    r.text);
			set_all(r.code / 100 == 5 ? RES_FAIL : RES_DEFER, why);
		}
		put(fd, "QUIT\r\n");
		return 1;
	}
	if (accepted == 0) {
		/* the server wants data nobody is to receive: end it */
		put(fd, ".\r\nQUIT\r\n");
		return 1;
	}
	if (send_data(fd) == -1 || get_reply(&in, &r, NULL, 0) < 0)
		goto lost;
	fmt(why, sizeof why, "%s said: %s", hostname, r.text);
	for (size_t i = 0; i < nrcpt; i++)
		if (res[i] == RES_ACCEPTED)
			set_one(i, r.code / 100 == 2 ? RES_OK :
			    r.code / 100 == 5 ? RES_FAIL : RES_DEFER, why);
	put(fd, "QUIT\r\n");
	return 1;
lost:
	fmt(why, sizeof why, "connection to %s lost or timed out "
	    "during the transaction", hostname);
	set_all(RES_DEFER, why);
	return 1;
}

/* Try each address of each host in turn: 1 decided, 0 none answered. */
static int
try_hosts(struct host *h, size_t nh, char *err, size_t esz)
{
	for (size_t i = 0; i < nh; i++) {
		struct dns_addr a[DNS_ADDR_MAX];
		struct in6_addr a6;
		struct in_addr a4;
		size_t na = 0;
		int k;

		if (inet_pton(AF_INET, h[i].name, &a4) == 1) {
			struct sockaddr_in *s = (struct sockaddr_in *)&a[0].sa;

			memset(&a[0], 0, sizeof a[0]);
			s->sin_family = AF_INET;
			s->sin_addr = a4;
			a[0].len = sizeof *s;
			na = 1;
		} else if (inet_pton(AF_INET6, h[i].name, &a6) == 1) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a[0].sa;

			memset(&a[0], 0, sizeof a[0]);
			s->sin6_family = AF_INET6;
			s->sin6_addr = a6;
			a[0].len = sizeof *s;
			na = 1;
		} else {
			k = dns_addrs(h[i].name, a, DNS_ADDR_MAX, &na);
			if (k != DNS_OK) {
				fmt(err, esz, "%s", dns_error());
				continue;
			}
		}
		for (size_t j = 0; j < na; j++) {
			int fd = connect_to(&a[j], h[i].port, err, esz);

			if (fd == -1) {
				char e2[256];

				(void)fmt(e2, sizeof e2, "%s", err);
				fmt(err, esz, "%s port %u: %s", h[i].name,
				    h[i].port, e2);
				continue;
			}
			k = session(fd, h[i].name, err, esz);
			close(fd);
			if (k)
				return 1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct host hosts[HOSTS_MAX];
	char servers[1024], err[512] = "", why[768];
	size_t nh = 0;
	int k;

	progname = "smtp-send";
	/*
	 * Installed setuid to the remote-delivery user: become it wholly,
	 * real ids too, so that nothing here can return to the queue
	 * manager's user.  (What the environment overrides was settled by
	 * privileged() before this: the built-in root stays.)
	 */
	if (privileged()) {
		pin_builtin_paths();
		if (setregid(getegid(), getegid()) == -1 ||
		    setreuid(geteuid(), geteuid()) == -1)
			die_sys(QEXIT_TEMP, "become the remote user");
	}
	if (argc < 4)
		usage("DOMAIN SENDER RECIPIENT...");
	domain = argv[1];
	sender = argv[2];
	rcpt = argv + 3;
	nrcpt = (size_t)(argc - 3);
	if (strlen(domain) > DOMAIN_BYTES_MAX || !domain_valid(domain) ||
	    strlen(sender) > ADDR_BYTES_MAX || !is_clean(sender, strlen(sender)))
		die(QEXIT_PERM, "malformed domain or sender");
	for (size_t i = 0; i < nrcpt; i++)
		if (strlen(rcpt[i]) > ADDR_BYTES_MAX ||
		    !is_clean(rcpt[i], strlen(rcpt[i])))
			die(QEXIT_PERM, "malformed recipient: argument %zu", i + 3);
	res = calloc(nrcpt, sizeof *res);
	text = calloc(nrcpt, sizeof *text);
	if (res == NULL || text == NULL)
		die(QEXIT_TEMP, "out of memory");
	signal(SIGPIPE, SIG_IGN);
	{
		const char *what;

		if (seekable_stdin(&base, &msgsize, &what) == -1)
			die_sys(QEXIT_TEMP, "%s", what);
	}
	if (control_line("me", me, sizeof me, "localhost") < 0 ||
	    control_ulong("timeoutconnect", &tconnect, TIMEOUT_CONNECT) < 0 ||
	    control_ulong("timeoutremote", &tremote, TIMEOUT_REMOTE) < 0 ||
	    control_line("dnsservers", servers, sizeof servers, "") < 0)
		die_sys(QEXIT_TEMP, "unable to read control files");
	if (tconnect == 0 || tconnect > 3600 || tremote == 0 || tremote > 86400)
		die(QEXIT_TEMP, "timeoutconnect or timeoutremote out of range");
	{
		/* dnsservers may list several lines: join them with commas */
		struct strlist l;

		if (control_list("dnsservers", 0, &l) < 0)
			die_sys(QEXIT_TEMP, "control/dnsservers");
		servers[0] = '\0';
		for (size_t i = 0; i < l.n; i++)
			if (strlen(servers) + strlen(l.v[i]) + 2 < sizeof servers) {
				if (i > 0)
					strcat(servers, ",");
				strcat(servers, l.v[i]);
			}
		strlist_free(&l);
	}
	if (dns_init(servers[0] ? servers : NULL) == -1)
		die(QEXIT_TEMP, "cannot start the resolver (control/dnsservers)");

	k = smtproute(&hosts[0]);
	if (k < 0)
		die(QEXIT_TEMP, "control/smtproutes: malformed entry");
	if (k > 0 && hosts[0].name[0] != '\0') {
		nh = 1;
	} else if (domain[0] == '[') {
		/* an address literal: that host itself */
		size_t n = strlen(domain);

		if (n > 2 && strncasecmp(domain, "[IPv6:", 6) == 0)
			fmt(hosts[0].name, sizeof hosts[0].name, "%.*s",
			    (int)(n - 7), domain + 6);
		else
			fmt(hosts[0].name, sizeof hosts[0].name, "%.*s",
			    (int)(n - 2), domain + 1);
		if (k == 0)
			hosts[0].port = SMTP_PORT;
		nh = 1;
	} else {
		/* MX, at the route's port when it names one */
		struct dns_mx mx[DNS_MX_MAX];
		unsigned port = k > 0 ? hosts[0].port : SMTP_PORT;
		size_t nmx = 0;
		int d = dns_mx(domain, mx, DNS_MX_MAX, &nmx);

		if (d == DNS_TEMP) {
			fmt(why, sizeof why, "DNS trouble looking up the "
			    "mail exchangers of %s: %s (#4.4.3)", domain,
			    dns_error());
			set_all(RES_DEFER, why);
		} else if (d == DNS_NXDOMAIN) {
			fmt(why, sizeof why, "the domain %s does not "
			    "exist (#5.1.2)", domain);
			set_all(RES_FAIL, why);
		} else if (d == DNS_NONE) {
			/* no MX: the domain's own address */
			fmt(hosts[0].name, sizeof hosts[0].name, "%s",
			    domain);
			hosts[0].port = port;
			nh = 1;
		} else {
			for (size_t i = 0; i < nmx && nh < HOSTS_MAX; i++) {
				fmt(hosts[nh].name, sizeof hosts[nh].name,
				    "%s", mx[i].host);
				hosts[nh].port = port;
				nh++;
			}
		}
	}
	if (nh > 0 && !try_hosts(hosts, nh, err, sizeof err)) {
		fmt(why, sizeof why, "could not deliver to any mail "
		    "exchanger of %s: %s (#4.4.1)", domain,
		    err[0] ? err : "no host");
		set_all(RES_DEFER, why);
	}
	for (size_t i = 0; i < nrcpt; i++) {
		const char *w = res[i] == RES_OK ? "ok" : res[i] == RES_FAIL ?
		    "fail" : "defer";

		printf("%s\t%s\t%s\n", w, rcpt[i], text[i] ? text[i] :
		    "no reply");
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die_sys(QEXIT_TEMP, "write stdout");
	return QEXIT_OK;
}
