/*
 * bounce - delivery status notifications.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bounce.h"
#include "control.h"
#include "fmt.h"
#include "inject.h"
#include "msgid.h"
#include "xio.h"

enum { HEADER_COPY_MAX = 64 * 1024 };

char bounce_error[256];
int bounce_refused;

static void
rfc5322_date(char *buf, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* "5.1.1" at p: its length, or 0 (class 2, 4 or 5, then digits). */
static size_t
status_at(const char *p)
{
	size_t n = 1;
	int dots = 0;

	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		return 0;
	for (; isdigit((unsigned char)p[n]) || p[n] == '.'; n++)
		if (p[n] == '.' && (p[n - 1] == '.' || ++dots > 2))
			return 0;
	return dots == 2 && p[n - 1] != '.' ? n : 0;
}

/*
 * The status of a reason: its last "(#5.1.1)" code (so "Giving up: ...
 * (#4.3.0) (#4.4.7)" is 4.4.7); else a remote server's enhanced code
 * after its reply code ("said: 550 5.1.1 ..."); else 5.0.0.
 */
static void
status_of(const char *reason, char *out, size_t size)
{
	const char *p;
	size_t n;

	(void)fmt(out, size, "5.0.0");
	for (p = reason; (p = strchr(p, '#')) != NULL;)
		if ((n = status_at(++p)) > 0)
			(void)fmt(out, size, "%.*s", (int)n, p);
	if (strcmp(out, "5.0.0") != 0)
		return;
	for (p = reason; (p = strstr(p, " said: ")) != NULL;) {
		p += 7;
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && p[3] == ' ' &&
		    (n = status_at(p + 4)) > 0 && p[0] == p[4]) {
			(void)fmt(out, size, "%.*s", (int)n, p + 4);
			return;
		}
	}
}

struct out {
	struct inject *q;
	int bad;
};

static void
put(struct out *o, const char *s)
{
	if (!o->bad && inject_write(o->q, s, strlen(s)) == -1)
		o->bad = 1;
}

static void
putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct out *o, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	put(o, buf);
}

/* The original header (to its blank line), bounded. */
static char *
original_header(const char *path, off_t off)
{
	char *h = malloc(HEADER_COPY_MAX + 1);
	size_t n = 0;
	int fd;

	if (h == NULL)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd != -1) {
		ssize_t r = pread(fd, h, HEADER_COPY_MAX, off);

		n = r > 0 ? (size_t)r : 0;
		close(fd);
	}
	h[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (h[i] == '\n' && (i + 1 == n || h[i + 1] == '\n')) {
			h[i + 1] = '\0';
			break;
		}
	/* a NUL would end the copy early: harmless */
	return h;
}

int
bounce_send(const char *path, off_t msgoff, const char *id, long long birth,
    const char *sender, const char *const *rcpts, size_t n,
    const unsigned char *st, unsigned char failed,
    const char *const *reasons, char *bid)
{
	char me[DOMAIN_BYTES_MAX + 1], from[ADDR_BYTES_MAX + 1];
	char to[ADDR_BYTES_MAX + DOMAIN_BYTES_MAX + 2], date[64], status[16];
	const char *envsender = "";
	const char *rcpt[1];
	struct inject q;
	struct out o = { &q, 0 };
	char *head;
	int code;

	bounce_error[0] = '\0';
	bounce_refused = 0;
	if (strcmp(sender, DOUBLE_BOUNCE_SENDER) == 0)
		return 1;
	if (control_line("me", me, sizeof me, "localhost") < 0 ||
	    control_line("bouncefrom", from, sizeof from, "MAILER-DAEMON") < 0) {
		snprintf(bounce_error, sizeof bounce_error,
		    "unable to read control files: %s", strerror(errno));
		return -1;
	}
	if (sender[0] != '\0') {
		snprintf(to, sizeof to, "%s", sender);
	} else {
		char dbt[ADDR_BYTES_MAX + 1];

		if (control_line("doublebounceto", dbt, sizeof dbt,
		    "postmaster") < 0) {
			snprintf(bounce_error, sizeof bounce_error,
			    "unable to read control/doublebounceto");
			return -1;
		}
		if (dbt[0] == '\0' || dbt[0] == '@')
			return 1;	/* double bounces turned off */
		snprintf(to, sizeof to, strchr(dbt, '@') ? "%s" : "%s@%s", dbt,
		    me);
		envsender = DOUBLE_BOUNCE_SENDER;
	}
	if (msgid_new(bid) == -1 || inject_open(&q, bid) == -1) {
		snprintf(bounce_error, sizeof bounce_error,
		    "unable to start queue-inject: %s", strerror(errno));
		return -1;
	}
	rfc5322_date(date, sizeof date, time(NULL));
	putf(&o, "From: %s@%s\n", from, me);
	putf(&o, "To: %s\n", to);
	putf(&o, "Subject: failure notice\n");
	putf(&o, "Date: %s\n", date);
	putf(&o, "Message-ID: <%s.bounce@%s>\n", bid, me);
	putf(&o, "Auto-Submitted: auto-replied\n");
	putf(&o, "MIME-Version: 1.0\n");
	putf(&o, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"vdmail-%s\"\n\n", bid);
	putf(&o, "This is a MIME-formatted delivery status report.\n\n");

	putf(&o, "--vdmail-%s\nContent-Type: text/plain; charset=us-ascii\n\n",
	    bid);
	putf(&o, "Hi. This is the vdmail delivery program at %s.\n", me);
	put(&o, "Your message could not be delivered to the addresses "
	    "below.\nThe failure is permanent: I have stopped trying.\n\n");
	for (size_t i = 0; i < n; i++) {
		if (st[i] != failed)
			continue;
		putf(&o, "<%s>:\n%s\n\n", rcpts[i],
		    reasons[i] ? reasons[i] : "no reason given");
	}
	put(&o, "--- Below this line is a copy of the message's header.\n\n");

	putf(&o, "--vdmail-%s\nContent-Type: message/delivery-status\n\n", bid);
	rfc5322_date(date, sizeof date, (time_t)birth);
	putf(&o, "Reporting-MTA: dns; %s\n", me);
	putf(&o, "X-vdmail-Queue-ID: %s\n", id);
	putf(&o, "Arrival-Date: %s\n", date);
	for (size_t i = 0; i < n; i++) {
		const char *why = reasons[i] ? reasons[i] : "no reason given";

		if (st[i] != failed)
			continue;
		status_of(why, status, sizeof status);
		putf(&o, "\nFinal-Recipient: rfc822; %s\n", rcpts[i]);
		put(&o, "Action: failed\n");
		putf(&o, "Status: %s\n", status);
		putf(&o, "Diagnostic-Code: x-vdmail; %s\n", why);
	}
	putf(&o, "\n--vdmail-%s\nContent-Type: text/rfc822-headers\n\n", bid);
	head = original_header(path, msgoff);
	if (head != NULL)
		put(&o, head);
	free(head);
	putf(&o, "\n--vdmail-%s--\n", bid);
	rcpt[0] = to;
	code = inject_close(&q, envsender, rcpt, 1);
	bounce_refused = code >= 11 && code <= 40;
	if (code != 0) {
		snprintf(bounce_error, sizeof bounce_error, "bounce: %s",
		    inject_strerror(code));
		return -1;
	}
	return 0;
}
