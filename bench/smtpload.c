/*
 * bench/smtpload.c -- the SMTP load client of make bench.
 *
 * usage: smtpload --port N --count M --sessions S --rcpts R --size BYTES
 *                 --addrs FILE --tag TAG --out FILE [--first I]
 *
 * Sends COUNT messages of about BYTES bytes to 127.0.0.1:PORT over
 * SESSIONS concurrent sessions (one thread each), one message per
 * connection: EHLO, MAIL, RCPT..., DATA, QUIT, one command at a time, as
 * most clients do.  Message I goes to RCPTS recipients taken in turn from
 * FILE (one address a line): the addresses I*RCPTS to I*RCPTS+RCPTS-1,
 * counted round the list, so that every user gets the same share and one
 * message's recipients are all different.
 *
 * Each message carries a header "X-Bench-Id: TAG-I"; mdwatch.py finds it
 * in the delivered file.  OUT gets one line per message:
 *     TAG-I T_DOT T_REPLY CODE [WHY]
 * T_DOT is CLOCK_MONOTONIC (seconds) just before the final "." was
 * written, T_REPLY when the reply to it came, CODE that reply's code, or 0
 * when the session broke before, with WHY saying how.  The first line of
 * OUT is "start T" and the last "end T".  Exit 0 when every message got a
 * 250, else 1; 111 when it cannot start.
 *
 * It is written in C so that the load takes little of the machine the
 * servers are measured on: the same work in Python's asyncio took about a
 * fifth of a two-core machine at 500 messages a second.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SENDER "load@client.bench.example"

enum { ADDR_MAX = 256, LINE_MAX_ = 1024, RESULT_MAX = 160 };

static int port, count, sessions = 20, rcpts = 1, size = 4096, first;
static const char *addrfile, *tag, *outfile;
static char **addrs;
static size_t naddrs;
static char *body;
static size_t bodylen;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_i;			/* the next message to send */
static char (*results)[RESULT_MAX];	/* one per message, by I - first */
static int failed;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fatal(const char *what)
{
	fprintf(stderr, "smtpload: fatal: %s: %s\n", what, strerror(errno));
	exit(111);
}

/* One connection's reply reader. */
struct conn {
	int fd;
	char buf[4096];
	size_t len, off;
};

/* The next line (without its end) into line: 0, or -1 at EOF/error. */
static int
read_line(struct conn *c, char *line, size_t size)
{
	size_t n = 0;

	for (;;) {
		while (c->off < c->len) {
			char ch = c->buf[c->off++];

			if (ch == '\n') {
				line[n] = '\0';
				return 0;
			}
			if (n + 1 < size)
				line[n++] = ch;
		}
		ssize_t r = read(c->fd, c->buf, sizeof c->buf);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len = (size_t)r;
		c->off = 0;
	}
}

/* One SMTP reply: its code, or 0 at end of file. */
static int
reply(struct conn *c)
{
	char line[LINE_MAX_];

	for (;;) {
		if (read_line(c, line, sizeof line) == -1 || strlen(line) < 4)
			return 0;
		if (line[3] != '-')
			return atoi(line);
	}
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send a command and expect code want: NULL, or what went wrong. */
static const char *
command(struct conn *c, const char *cmd, int want, const char *what,
    char *why, size_t whysize)
{
	int code;

	if (cmd != NULL && send_all(c->fd, cmd, strlen(cmd)) == -1) {
		snprintf(why, whysize, "OSError:write_%s", what);
		return why;
	}
	code = reply(c);
	if (code != want) {
		snprintf(why, whysize, "EOFError:%s_answered_%d", what, code);
		return why;
	}
	return NULL;
}

static void
one_message(int i)
{
	char mid[128], why[96] = "", cmd[ADDR_MAX + 32], head[1024], date[64];
	struct sockaddr_in sa;
	struct conn c = { .fd = -1 };
	double t_dot = 0, t_reply = 0;
	int code = 0, one = 1;
	struct timeval limit = { 120, 0 };	/* a server that stops answering */
	size_t k = (size_t)i * (size_t)rcpts;
	time_t t;
	struct tm tm;

	snprintf(mid, sizeof mid, "%s-%d", tag, i);
	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd == -1) {
		snprintf(why, sizeof why, "OSError:socket");
		goto done;
	}
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c.fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		snprintf(why, sizeof why, "OSError:connect_%d", errno);
		goto done;
	}
	if (command(&c, NULL, 220, "greeting", why, sizeof why) ||
	    command(&c, "EHLO load.bench.example\r\n", 250, "EHLO", why,
	    sizeof why) ||
	    command(&c, "MAIL FROM:<" SENDER ">\r\n", 250, "MAIL", why,
	    sizeof why))
		goto done;
	for (int j = 0; j < rcpts; j++) {
		snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n",
		    addrs[(k + (size_t)j) % naddrs]);
		if (command(&c, cmd, 250, "RCPT", why, sizeof why))
			goto done;
	}
	if (command(&c, "DATA\r\n", 354, "DATA", why, sizeof why))
		goto done;
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(head, sizeof head, "From: <%s>\r\nTo: <%s>\r\nSubject: bench "
	    "%s\r\nMessage-ID: <%s@load.bench.example>\r\nDate: %s\r\n"
	    "X-Bench-Id: %s\r\n\r\n", SENDER, addrs[k % naddrs], mid, mid,
	    date, mid);
	if (send_all(c.fd, head, strlen(head)) == -1 ||
	    send_all(c.fd, body, bodylen) == -1) {
		snprintf(why, sizeof why, "OSError:write_body");
		goto done;
	}
	t_dot = now();
	if (send_all(c.fd, ".\r\n", 3) == -1) {
		snprintf(why, sizeof why, "OSError:write_dot");
		goto done;
	}
	code = reply(&c);
	t_reply = now();
	if (send_all(c.fd, "QUIT\r\n", 6) == 0)
		reply(&c);
done:
	if (c.fd != -1)
		close(c.fd);
	snprintf(results[i - first], RESULT_MAX, "%s %.6f %.6f %d%s%s", mid,
	    t_dot, t_reply, code, why[0] ? " " : "", why);
	if (code != 250) {
		pthread_mutex_lock(&mu);
		failed++;
		pthread_mutex_unlock(&mu);
	}
}

static void *
worker(void *arg)
{
	(void)arg;
	for (;;) {
		int i;

		pthread_mutex_lock(&mu);
		i = next_i < first + count ? next_i++ : -1;
		pthread_mutex_unlock(&mu);
		if (i < 0)
			return NULL;
		one_message(i);
	}
}

static void
read_addrs(void)
{
	FILE *f = fopen(addrfile, "r");
	char line[ADDR_MAX];
	size_t cap = 0;

	if (f == NULL)
		fatal(addrfile);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (naddrs == cap) {
			cap = cap ? cap * 2 : 256;
			addrs = realloc(addrs, cap * sizeof *addrs);
			if (addrs == NULL)
				fatal("memory");
		}
		if ((addrs[naddrs++] = strdup(line)) == NULL)
			fatal("memory");
	}
	fclose(f);
	if (naddrs == 0) {
		fprintf(stderr, "smtpload: fatal: %s: no addresses\n", addrfile);
		exit(111);
	}
}

/* Body lines of 72 characters, enough for about size bytes in all. */
static void
make_body(void)
{
	static const char line[] = "abcdefghijklmnopqrstuvwxyz0123456789"
	    "abcdefghijklmnopqrstuvwxyz0123456789\r\n";
	size_t ll = sizeof line - 1, n = size > 400 ? (size_t)(size - 400) / ll : 0;

	if (n == 0)
		n = 1;
	bodylen = n * ll;
	body = malloc(bodylen);
	if (body == NULL)
		fatal("memory");
	for (size_t j = 0; j < n; j++)
		memcpy(body + j * ll, line, ll);
}

static void
usage(void)
{
	fprintf(stderr, "usage: smtpload --port N --count M --sessions S "
	    "--rcpts R --size BYTES --addrs FILE --tag TAG --out FILE "
	    "[--first I]\n");
	exit(100);
}

int
main(int argc, char **argv)
{
	pthread_t *th;
	double t0, t1;
	FILE *out;

	for (int a = 1; a < argc; a += 2) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(o, "--port") == 0)
			port = atoi(v);
		else if (strcmp(o, "--count") == 0)
			count = atoi(v);
		else if (strcmp(o, "--sessions") == 0)
			sessions = atoi(v);
		else if (strcmp(o, "--rcpts") == 0)
			rcpts = atoi(v);
		else if (strcmp(o, "--size") == 0)
			size = atoi(v);
		else if (strcmp(o, "--addrs") == 0)
			addrfile = v;
		else if (strcmp(o, "--tag") == 0)
			tag = v;
		else if (strcmp(o, "--out") == 0)
			outfile = v;
		else if (strcmp(o, "--first") == 0)
			first = atoi(v);
		else
			usage();
	}
	if (port <= 0 || port > 65535 || count < 0 || sessions < 1 ||
	    rcpts < 1 || rcpts > 1000 || addrfile == NULL || tag == NULL ||
	    outfile == NULL || strlen(tag) > 64)
		usage();
	signal(SIGPIPE, SIG_IGN);	/* a server that hangs up: that session fails */
	read_addrs();
	make_body();
	results = calloc(count ? (size_t)count : 1, sizeof *results);
	th = calloc((size_t)sessions, sizeof *th);
	if (results == NULL || th == NULL)
		fatal("memory");
	next_i = first;
	t0 = now();
	for (int s = 0; s < sessions; s++) {
		errno = pthread_create(&th[s], NULL, worker, NULL);
		if (errno != 0)
			fatal("pthread_create");
	}
	for (int s = 0; s < sessions; s++)
		pthread_join(th[s], NULL);
	t1 = now();
	out = fopen(outfile, "w");
	if (out == NULL)
		fatal(outfile);
	fprintf(out, "start %.6f\n", t0);
	for (int i = 0; i < count; i++)
		fprintf(out, "%s\n", results[i]);
	fprintf(out, "end %.6f\n", t1);
	if (fclose(out) != 0)
		fatal(outfile);
	if (failed) {
		fprintf(stderr, "smtpload: %d of %d messages not accepted\n",
		    failed, count);
		return 1;
	}
	return 0;
}
