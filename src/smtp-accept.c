/*
 * smtp-accept - the SMTP server: one session on fd 0 (in) and fd 1 (out).
 *
 * Started by tcpserver (TCPREMOTEIP, TCPREMOTEHOST, and RELAYCLIENT from
 * its rules) or by inetd (the peer's address is then read from the socket,
 * and the log line is dropped: stderr is the socket too).  Each message goes to
 * queue-inject (or $QMAILQUEUE) through two pipes: the message on its
 * fd 0, the envelope on its fd 1.  The 250 after DATA names the message's
 * queue id, which queue-inject takes from VDMAIL_MSGID.
 *
 * Exit: 0 after QUIT or the client's EOF; 111 on a timeout or trouble.
 * Everything the client sends is hostile: every line and every message is
 * bounded (smtp-accept(8), LIMITS), and nothing it sends reaches a shell.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "die.h"
#include "dotqmail.h"
#include "fmt.h"
#include "inject.h"
#include "line.h"
#include "msgid.h"
#include "rcptcheck.h"
#include "route.h"
#include "xio.h"

extern char **environ;

enum {
	COMMAND_BYTES_MAX = 512,	/* a command line, CRLF included (RFC 5321) */
	RCPTS_MAX = 100,		/* more get 452 */
	ERRORS_MAX = 10,		/* the error after these gets 421 */
	REFUSED_MAX = 100,		/* refused RCPTs, then 421 */
	HOPS_MAX = 100,			/* Received/Delivered-To lines: a loop */
	HELO_BYTES_MAX = 255,
	REPLY_BUF = 8192,
	PIPE_BUF_BYTES = 65536,
	TIMEOUT_DEFAULT = 1200,		/* seconds idle: control/timeoutsmtpd */
	INFLOW_DEFAULT = 1000,		/* ms: control/inflowdelay */
	INFLOW_MAX = 60000,
	INFLOW_STEP = 10,		/* ms between looks at the mark */
	INFLOW_STALE = 3,		/* seconds: an older mark is void */
	DATABYTES_DEFAULT = 20 * 1024 * 1024
};

static char me[DOMAIN_BYTES_MAX + 1];
static char greeting[COMMAND_BYTES_MAX];
static unsigned long databytes = DATABYTES_DEFAULT;	/* 0: no limit */
static unsigned long timeout = TIMEOUT_DEFAULT;
static unsigned long inflowdelay = INFLOW_DEFAULT;
static char inflowpath[PATH_BYTES_MAX];
static struct strlist rcpthosts;
static const char *relayclient;		/* NULL: this client may not relay */
static char remoteip[64] = "unknown";
static char remotehost[HELO_BYTES_MAX + 1];

static struct rbuf in;
static char out[REPLY_BUF];
static size_t outlen;

static char helo[HELO_BYTES_MAX + 1];
static int seen_helo, esmtp;
static int have_mail;
static char sender[ADDR_BYTES_MAX + 1];
static char *rcpt[RCPTS_MAX];
static size_t nrcpt;
static unsigned errors, refused;

static void
on_alarm(int sig)
{
	(void)sig;
	_exit(QEXIT_TEMP);	/* a client that will not read its replies */
}

static void
flush(void)
{
	if (outlen == 0)
		return;
	alarm((unsigned)timeout);
	if (write_all(1, out, outlen) == -1)
		_exit(QEXIT_TEMP);	/* the client is gone */
	alarm(0);
	outlen = 0;
}

/* Queue one reply line (CRLF added); sent at the next flush. */
static void PRINTF_LIKE(1, 2)
reply(const char *fmt, ...)
{
	char line[COMMAND_BYTES_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof line - 3)
		n = (int)(sizeof line - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	if (outlen + (size_t)n > sizeof out)
		flush();
	memcpy(out + outlen, line, (size_t)n);
	outlen += (size_t)n;
}

static _Noreturn void
quit_temp(const char *why)
{
	reply("421 4.3.0 %s %s, closing connection", me, why);
	flush();
	_exit(QEXIT_TEMP);
}

/* Replace what is not harmless in a name from outside by '?'. */
static void
sanitize(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		dst[n++] = (isalnum(c) || strchr("-._:[]", c) != NULL) ?
		    (char)c : '?';
	}
	dst[n] = '\0';
}

static void
load_rcpthosts(void)
{
	struct strlist vd;
	int r = control_list("rcpthosts", 1, &rcpthosts);

	if (r < 0)
		quit_temp("unable to read control/rcpthosts");
	if (r > 0)
		return;
	/* No rcpthosts: exactly the domains of locals and virtualdomains
	 * (not a catch-all ":prepend" line), never "every domain". */
	if (control_list("locals", 1, &rcpthosts) < 0)
		quit_temp("unable to read control/locals");
	if (control_list("virtualdomains", 1, &vd) < 0)
		quit_temp("unable to read control/virtualdomains");
	for (size_t i = 0; i < vd.n; i++) {
		char *colon = strchr(vd.v[i], ':');
		char **nv;

		if (colon == NULL || colon == vd.v[i])
			continue;
		*colon = '\0';
		nv = realloc(rcpthosts.v, (rcpthosts.n + 1) * sizeof *nv);
		if (nv == NULL)
			quit_temp("out of memory");
		rcpthosts.v = nv;
		nv[rcpthosts.n] = strdup(vd.v[i]);
		if (nv[rcpthosts.n] == NULL)
			quit_temp("out of memory");
		rcpthosts.n++;
	}
	strlist_free(&vd);
}

static int
listed(const char *d)
{
	for (size_t i = 0; i < rcpthosts.n; i++)
		if (strcmp(rcpthosts.v[i], d) == 0)
			return 1;
	return 0;
}

/* qmail's rule: "dom" matches dom; ".dom" matches every subdomain of dom. */
static int
rcpthost_ok(const char *domain)
{
	char d[DOMAIN_BYTES_MAX + 1];
	size_t n = strlen(domain);

	if (n > DOMAIN_BYTES_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++)
		d[i] = (char)tolower((unsigned char)domain[i]);
	if (listed(d))
		return 1;
	for (size_t i = 1; i < n; i++)
		if (d[i] == '.' && listed(d + i))
			return 1;
	return 0;
}

static void
load_config(void)
{
	const char *v;

	if (control_line("me", me, sizeof me, "localhost") < 0)
		quit_temp("unable to read control/me");
	if (control_line("smtpgreeting", greeting, sizeof greeting - 16, me) < 0)
		quit_temp("unable to read control/smtpgreeting");
	if (control_ulong("databytes", &databytes, DATABYTES_DEFAULT) < 0)
		quit_temp("unable to read control/databytes");
	if (control_ulong("timeoutsmtpd", &timeout, TIMEOUT_DEFAULT) < 0 ||
	    timeout == 0 || timeout > 86400)
		quit_temp("unable to read control/timeoutsmtpd");
	if (control_ulong("inflowdelay", &inflowdelay, INFLOW_DEFAULT) < 0)
		quit_temp("unable to read control/inflowdelay");
	if (inflowdelay > INFLOW_MAX)
		inflowdelay = INFLOW_MAX;
	if (root_path(inflowpath, sizeof inflowpath, "queue/lock/inflow") == -1)
		inflowdelay = 0;
	load_rcpthosts();

	relayclient = getenv("RELAYCLIENT");
	v = getenv("TCPREMOTEIP");
	if (v != NULL) {
		sanitize(remoteip, sizeof remoteip, v);
	} else {
		/* inetd: ask the socket */
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;

		if (getpeername(0, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
				    &ss)->sin_addr, remoteip, sizeof remoteip);
			else if (ss.ss_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
				    &ss)->sin6_addr, remoteip, sizeof remoteip);
		}
	}
	v = getenv("TCPREMOTEHOST");
	if (v != NULL)
		sanitize(remotehost, sizeof remotehost, v);
}

static void
reset_transaction(void)
{
	for (size_t i = 0; i < nrcpt; i++)
		free(rcpt[i]);
	nrcpt = 0;
	have_mail = 0;
	sender[0] = '\0';
}

/* "FROM:" / "TO:" after the verb, case-insensitive; the rest or NULL. */
static const char *
after_keyword(const char *arg, const char *kw)
{
	size_t n = strlen(kw);

	while (*arg == ' ')
		arg++;
	if (strncasecmp(arg, kw, n) != 0)
		return NULL;
	return arg + n;
}

static void
smtp_helo(const char *arg, int extended)
{
	while (*arg == ' ')
		arg++;
	if (*arg == '\0') {
		reply("501 5.5.4 %s needs a host name", extended ? "EHLO" :
		    "HELO");
		return;
	}
	sanitize(helo, sizeof helo, arg);
	seen_helo = 1;
	esmtp = extended;
	reset_transaction();
	if (!extended) {
		reply("250 %s", me);
		return;
	}
	reply("250-%s", me);
	reply("250-PIPELINING");
	reply("250-8BITMIME");
	if (databytes > 0)
		reply("250-SIZE %lu", databytes);
	else
		reply("250-SIZE");
	reply("250 ENHANCEDSTATUSCODES");
}

static void
smtp_mail(const char *arg)
{
	const char *p, *rest;
	int routed, r;

	if (!seen_helo) {
		reply("503 5.5.1 send HELO or EHLO first");
		return;
	}
	if (have_mail) {
		reply("503 5.5.1 one MAIL per transaction (RSET first)");
		return;
	}
	p = after_keyword(arg, "FROM:");
	if (p == NULL) {
		reply("501 5.5.4 syntax: MAIL FROM:<address>");
		return;
	}
	r = addr_parse_path(p, sender, sizeof sender, &rest, &routed);
	if (r != ADDR_OK) {
		reply("501 5.1.7 bad sender address syntax");
		return;
	}
	/* ESMTP parameters: SIZE and BODY */
	for (;;) {
		char word[COMMAND_BYTES_MAX];
		size_t n = 0;

		while (*rest == ' ')
			rest++;
		if (*rest == '\0')
			break;
		while (rest[n] != '\0' && rest[n] != ' ')
			n++;
		memcpy(word, rest, n);
		word[n] = '\0';
		rest += n;
		if (strncasecmp(word, "SIZE=", 5) == 0) {
			char *end;
			unsigned long long sz;

			errno = 0;
			sz = strtoull(word + 5, &end, 10);
			if (!isdigit((unsigned char)word[5]) || *end != '\0') {
				reply("501 5.5.4 bad SIZE parameter");
				return;
			}
			if (databytes > 0 && (errno == ERANGE || sz > databytes)) {
				reply("552 5.3.4 message size exceeds fixed maximum message size");
				return;
			}
		} else if (strcasecmp(word, "BODY=8BITMIME") == 0 ||
		    strcasecmp(word, "BODY=7BIT") == 0) {
			/* nothing to do: the message is kept byte for byte */
		} else {
			reply("555 5.5.4 unsupported parameter");
			return;
		}
	}
	have_mail = 1;
	reply("250 2.1.0 ok");
}

/*
 * Would delivery certainly bounce this address?  The same lookup as
 * delivery's (src/lib/rcptcheck.c): 0 certainly, 1 deliverable or not
 * sure, -1 a control file unreadable.  In installed mode the homes are
 * not ours to read: the rcpt-check helper, which may, answers.
 */
static int
deliverable(const char *addr)
{
	char prog[PATH_BYTES_MAX];
	char *argv[2];
	posix_spawn_file_actions_t fa;
	int p[2], status, r;
	pid_t pid;

	if (!installed_mode())
		return rcpt_deliverable(addr);
	if (libexec_path(prog, sizeof prog, "rcpt-check") == -1 ||
	    pipe(p) == -1)
		return 1;
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	argv[0] = prog;
	argv[1] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (r != 0) {
		close(p[1]);
		return 1;	/* no helper: not sure */
	}
	(void)write_all(p[1], addr, strlen(addr));
	(void)write_all(p[1], "\n", 1);
	close(p[1]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == RCPT_CHECK_NO)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == QEXIT_TEMP)
		return -1;
	return 1;
}

/*
 * A reply that counts against a limit of the session: past max of them,
 * 421 and the end instead (a client may not make errors, or lookups and
 * in installed mode program starts, without end).
 */
static void
counted_reply(unsigned *count, unsigned max, const char *what,
    const char *text)
{
	if (++*count > max) {
		reply("421 4.7.0 %s too many %s, closing connection", me, what);
		flush();
		_exit(QEXIT_OK);
	}
	reply("%s", text);
}

/* A RCPT refused for good. */
static void
refuse_rcpt(const char *text)
{
	counted_reply(&refused, REFUSED_MAX, "refused recipients", text);
}

static void
smtp_rcpt(const char *arg)
{
	char addr[ADDR_BYTES_MAX + 1];
	const char *p, *rest, *domain;
	int routed, r, postmaster;

	if (!have_mail) {
		refuse_rcpt("503 5.5.1 MAIL first");
		return;
	}
	p = after_keyword(arg, "TO:");
	if (p == NULL) {
		refuse_rcpt("501 5.5.4 syntax: RCPT TO:<address>");
		return;
	}
	r = addr_parse_path(p, addr, sizeof addr, &rest, &routed);
	if (r != ADDR_OK || addr[0] == '\0') {
		refuse_rcpt("501 5.1.3 bad recipient address syntax");
		return;
	}
	while (*rest == ' ')
		rest++;
	if (*rest != '\0') {
		refuse_rcpt("555 5.5.4 unsupported parameter");
		return;
	}
	if (nrcpt >= RCPTS_MAX) {
		reply("452 4.5.3 too many recipients");	/* not counted */
		return;
	}
	domain = addr_domain(addr);
	/* <postmaster> is taken whether or not rcpthosts lists me */
	postmaster = domain == NULL && strcasecmp(addr, "postmaster") == 0;
	if (domain == NULL && (relayclient != NULL || postmaster)) {
		/* RFC 5321 postmaster, or a relay client's bare local part */
		size_t n = strlen(addr);

		if (n + 1 + strlen(me) > ADDR_BYTES_MAX) {
			refuse_rcpt("501 5.1.3 address too long");
			return;
		}
		snprintf(addr + n, sizeof addr - n, "@%s", me);
		domain = addr_domain(addr);
	}
	if (relayclient != NULL) {
		size_t n = strlen(addr), m = strlen(relayclient);

		if (n + m > ADDR_BYTES_MAX) {
			refuse_rcpt("501 5.1.3 address too long");
			return;
		}
		memcpy(addr + n, relayclient, m + 1);
	} else if (routed || addr_has_routing(addr)) {
		refuse_rcpt("550 5.7.1 sorry, no relaying through this server");
		return;
	} else if (domain == NULL) {
		refuse_rcpt("553 5.1.2 a recipient needs a domain");
		return;
	} else if (!postmaster && !rcpthost_ok(domain)) {
		refuse_rcpt("553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts");
		return;
	}
	switch (deliverable(addr)) {
	case 0:
		refuse_rcpt("550 5.1.1 sorry, no mailbox here by that name");
		return;
	case -1:
		reply("451 4.3.0 unable to look the recipient up; try again later");
		return;
	}
	rcpt[nrcpt] = strdup(addr);
	if (rcpt[nrcpt] == NULL)
		quit_temp("out of memory");
	nrcpt++;
	reply("250 2.1.5 ok");
}

/* The message as it streams to queue-inject. */
struct data {
	int fd;			/* the message pipe; -1 once it failed */
	size_t len;
	unsigned long long bytes;
	int toobig, nul;
	unsigned hops;
	int in_header, bol;
	char head[16];
	size_t headlen;
	char buf[PIPE_BUF_BYTES];	/* last: not cleared for each message */
};

static void
data_flush(struct data *d)
{
	if (d->fd != -1 && d->len > 0 && write_all(d->fd, d->buf, d->len) == -1)
		d->fd = -1;	/* queue-inject is gone: its status tells why */
	d->len = 0;
}

static void
data_put(struct data *d, char c)
{
	if (databytes > 0 && ++d->bytes > databytes) {
		d->toobig = 1;
		return;
	}
	if (c == '\0')
		d->nul = 1;
	if (d->in_header) {
		if (d->bol && c == '\n') {
			d->in_header = 0;
		} else if (d->headlen < 13) {
			d->head[d->headlen++] = (char)tolower((unsigned char)c);
			if ((d->headlen == 9 && memcmp(d->head, "received:", 9) == 0) ||
			    (d->headlen == 13 && memcmp(d->head, "delivered-to:", 13) == 0))
				d->hops++;
		}
		d->bol = c == '\n';
		if (d->bol)
			d->headlen = 0;
	}
	if (d->toobig)
		return;
	d->buf[d->len++] = c;
	if (d->len == sizeof d->buf)
		data_flush(d);
}

/* Bytes of our own (the Received: line), not counted nor looked at. */
static void
data_puts(struct data *d, const char *s)
{
	size_t n = strlen(s);

	if (d->len + n > sizeof d->buf)
		data_flush(d);
	if (n > sizeof d->buf) {
		if (d->fd != -1 && write_all(d->fd, s, n) == -1)
			d->fd = -1;
		return;
	}
	memcpy(d->buf + d->len, s, n);
	d->len += n;
}

/*
 * Read DATA up to <CR><LF>.<CR><LF> and nothing else (no SMTP smuggling):
 * a bare LF ends a line for storage and for dot-unstuffing, never DATA;
 * a bare CR is data.  Lines are stored with LF ends.  0 at the end, -1 on
 * EOF or timeout.
 */
static int
data_read(struct data *d)
{
	enum { BOL, DOT, DOT_CR, MID, MID_CR } st = BOL;
	int crlf_before = 1;	/* the DATA command's own CRLF */

	for (;;) {
		int r = rbuf_fill(&in);

		if (r == LINE_TIMEOUT) {
			reply("451 4.4.2 %s timeout, closing connection", me);
			flush();
			return -1;
		}
		if (r <= 0)
			return -1;
		while (in.pos < in.len) {
			char c = in.buf[in.pos++];

again:
			switch (st) {
			case BOL:
				if (c == '.') {
					st = DOT;
					break;
				}
				st = MID;
				goto again;
			case DOT:
				if (c == '\r') {
					st = DOT_CR;
				} else if (c == '\n') {
					data_put(d, '.');	/* a lone "." line */
					data_put(d, '\n');
					crlf_before = 0;
					st = BOL;
				} else {
					st = MID;		/* stuffed dot: dropped */
					goto again;
				}
				break;
			case DOT_CR:
				if (c == '\n') {
					if (crlf_before)
						return 0;
					data_put(d, '.');
					data_put(d, '\n');
					crlf_before = 1;
					st = BOL;
				} else {
					st = MID_CR;		/* ".\r" then more */
					goto again;
				}
				break;
			case MID:
				if (c == '\r') {
					st = MID_CR;
				} else if (c == '\n') {
					data_put(d, '\n');
					crlf_before = 0;
					st = BOL;
				} else {
					data_put(d, c);
				}
				break;
			case MID_CR:
				if (c == '\n') {
					data_put(d, '\n');
					crlf_before = 1;
					st = BOL;
				} else if (c == '\r') {
					data_put(d, '\r');
				} else {
					data_put(d, '\r');
					data_put(d, c);
					st = MID;
				}
				break;
			}
		}
	}
}

static void
received_line(struct data *d, const char *id)
{
	char line[1024], date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (remotehost[0] != '\0')
		snprintf(line, sizeof line, "Received: from %s (%s [%s])\n"
		    "\tby %s (vdmail) with %s id %s;\n\t%s\n", helo, remotehost,
		    remoteip, me, esmtp ? "ESMTP" : "SMTP", id, date);
	else
		snprintf(line, sizeof line, "Received: from %s ([%s])\n"
		    "\tby %s (vdmail) with %s id %s;\n\t%s\n", helo, remoteip,
		    me, esmtp ? "ESMTP" : "SMTP", id, date);
	data_puts(d, line);	/* buffered: one write for a small message */
}

static void
log_message(const char *id, const struct data *d)
{
	char line[3 * ADDR_BYTES_MAX + 256], from[2 * ADDR_BYTES_MAX + 3];

	/* quoted as in SMTP: a space in a local part cannot fake a field */
	(void)addr_quote(from, sizeof from, sender);
	snprintf(line, sizeof line, "smtp-accept: info: msg=%s ip=%s "
	    "from=<%s> rcpts=%zu bytes=%llu\n", id, remoteip, from, nrcpt,
	    d->bytes);
	if (write(2, line, strlen(line)) < 0) {
		/* the log is gone; the message is not */
	}
}

/*
 * While queue-run marks itself behind (a fresh mtime on lock/inflow), wait
 * up to control/inflowdelay ms before taking the next message, as
 * Postfix's in_flow_delay does: senders slow down to the delivery rate
 * instead of filling the queue.  Never a refusal: after the delay the
 * message is taken anyway.
 */
static void
inflow_wait(void)
{
	for (unsigned long waited = 0; waited < inflowdelay;
	    waited += INFLOW_STEP) {
		struct stat st;
		time_t now = time(NULL);

		if (stat(inflowpath, &st) == -1 || st.st_mtime == 0 ||
		    st.st_mtime > now + 1 || now - st.st_mtime > INFLOW_STALE)
			return;
		nanosleep(&(struct timespec){ 0, INFLOW_STEP * 1000000L }, NULL);
	}
}

static void
smtp_data(void)
{
	static struct data d;
	char id[MSGID_BYTES_MAX];
	struct inject q;
	int end, code = -1;

	if (!have_mail) {
		reply("503 5.5.1 MAIL first");
		return;
	}
	if (nrcpt == 0) {
		reply("554 5.5.1 no valid recipients");
		return;
	}
	if (inflowdelay > 0)
		inflow_wait();
	if (msgid_new(id) == -1 || inject_open(&q, id) == -1) {
		reply("451 4.3.0 unable to start the queue; try again later");
		return;
	}
	/* the fields, not the buffer: 64 KiB of page faults for nothing */
	memset(&d, 0, offsetof(struct data, buf));
	d.fd = q.msgfd;
	d.in_header = 1;
	d.bol = 1;
	reply("354 go ahead, end with <CRLF>.<CRLF>");
	flush();
	received_line(&d, id);
	end = data_read(&d);
	data_flush(&d);
	if (end == 0 && !d.toobig && !d.nul && d.hops < HOPS_MAX)
		code = inject_close(&q, sender, (const char *const *)rcpt,
		    nrcpt);
	else
		inject_abort(&q);	/* a cut envelope: nothing is queued */
	if (end != 0)
		_exit(QEXIT_TEMP);	/* EOF or timeout inside DATA */
	if (d.toobig)
		reply("552 5.3.4 message size exceeds fixed maximum message size");
	else if (d.nul)
		reply("554 5.6.0 message contains NUL characters");
	else if (d.hops >= HOPS_MAX)
		reply("554 5.4.6 too many hops, this message is looping");
	else if (code == 0) {
		reply("250 2.0.0 ok %s", id);
		log_message(id, &d);
	} else if (code == 11)
		reply("554 5.1.3 address too long");
	else if (code >= 11 && code <= 40)
		reply("554 5.3.0 mail server permanently rejected message");
	else if (code > 0)
		reply("451 4.3.0 queue failure (code %d); try again later",
		    code);
	else
		reply("451 4.3.0 queue failure (crashed); try again later");
	reset_transaction();
}

/* Under inetd, fd 2 is the client's socket: logging there would corrupt
 * the session, so the log goes to /dev/null. */
static void
quiet_if_stderr_is_client(void)
{
	struct stat a, b;
	int fd;

	if (fstat(0, &a) == -1 || fstat(2, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino || !S_ISSOCK(a.st_mode))
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd != -1 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
}

static void
error_reply(const char *text)
{
	counted_reply(&errors, ERRORS_MAX, "errors", text);
}

int
main(int argc, char **argv)
{
	char line[COMMAND_BYTES_MAX];

	progname = "smtp-accept";
	(void)argv;
	if (argc > 1)
		usage("");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	quiet_if_stderr_is_client();
	load_config();
	rbuf_init(&in, 0, (int)(timeout * 1000));

	reply("220 %s ESMTP", greeting);
	for (;;) {
		size_t len;
		const char *arg;
		char verb[16];
		size_t vlen = 0;
		int r;

		if (rbuf_pending(&in) == 0)
			flush();	/* PIPELINING: reply to the whole group */
		r = rbuf_getline(&in, line, sizeof line, &len);
		if (r == LINE_TOOLONG) {
			error_reply("500 5.5.2 line too long");
			continue;
		}
		if (r == LINE_TIMEOUT) {
			reply("421 4.4.2 %s timeout, closing connection", me);
			flush();
			_exit(QEXIT_TEMP);
		}
		if (r != LINE_OK)
			break;		/* EOF or a read error: the client left */
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (memchr(line, '\0', len) != NULL) {
			error_reply("500 5.5.2 NUL in command");
			continue;
		}
		while (vlen < len && line[vlen] != ' ' && vlen < sizeof verb - 1) {
			verb[vlen] = (char)toupper((unsigned char)line[vlen]);
			vlen++;
		}
		verb[vlen] = '\0';
		arg = line + vlen;
		if (*arg != '\0' && *arg != ' ')
			arg = "";	/* an over-long verb: unknown below */
		if (strcmp(verb, "EHLO") == 0)
			smtp_helo(arg, 1);
		else if (strcmp(verb, "HELO") == 0)
			smtp_helo(arg, 0);
		else if (strcmp(verb, "MAIL") == 0)
			smtp_mail(arg);
		else if (strcmp(verb, "RCPT") == 0)
			smtp_rcpt(arg);
		else if (strcmp(verb, "DATA") == 0 && *arg == '\0')
			smtp_data();
		else if (strcmp(verb, "RSET") == 0) {
			reset_transaction();
			reply("250 2.0.0 ok");
		} else if (strcmp(verb, "NOOP") == 0)
			reply("250 2.0.0 ok");
		else if (strcmp(verb, "VRFY") == 0)
			reply("252 2.5.2 send some mail and I will try my best");
		else if (strcmp(verb, "HELP") == 0)
			reply("214 2.0.0 see smtp-accept(8); commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
		else if (strcmp(verb, "QUIT") == 0) {
			reply("221 2.0.0 %s closing connection", me);
			flush();
			return QEXIT_OK;
		} else if (strcmp(verb, "DATA") == 0)
			reply("501 5.5.4 DATA takes no argument");
		else
			error_reply("500 5.5.1 command not recognized");
	}
	flush();
	return QEXIT_OK;
}
