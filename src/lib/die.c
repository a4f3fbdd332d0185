/*
 * die - diagnostics on stderr, one write(2) per line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"

const char *progname = "vdmail";

enum { MSG_MAX = 1024 };

static void
emit(const char *kind, int errnum, const char *fmt, va_list ap)
{
	char buf[MSG_MAX];
	size_t n;
	int r;

	r = snprintf(buf, sizeof buf, "%s: %s: ", progname, kind);
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof buf) {
		r = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (errnum != 0 && n < sizeof buf) {
		r = snprintf(buf + n, sizeof buf - n, ": %s", strerror(errnum));
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof buf - 2)
		n = sizeof buf - 2;	/* over-long: cut, but end the line */
	buf[n++] = '\n';
	/* Best effort: there is nowhere left to report a failed report. */
	if (write(2, buf, n) < 0)
		return;
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("fatal", 0, fmt, ap);
	va_end(ap);
	_exit(code);
}

void
die_sys(int code, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	emit("fatal", e, fmt, ap);
	va_end(ap);
	_exit(code);
}

void
warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("warning", 0, fmt, ap);
	va_end(ap);
}

void
warn_sys(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	emit("warning", e, fmt, ap);
	va_end(ap);
	errno = e;
}

void
usage(const char *synopsis)
{
	die(QEXIT_PERM, "usage: %s%s%s", progname, synopsis[0] ? " " : "",
	    synopsis);
}
