/*
 * die - the one shape of diagnostics, and the exit codes.
 *
 * Messages go to stderr as "prog: fatal: what: errno-text", each one
 * formatted into a buffer and sent with a single write(2), so that lines
 * from concurrent processes do not interleave under multilog.
 */
#ifndef VDMAIL_DIE_H
#define VDMAIL_DIE_H

#include <stdarg.h>

enum {
	QEXIT_OK = 0,
	QEXIT_STOP = 99,	/* done, and stop (dot-qmail program lines) */
	QEXIT_PERM = 100,	/* permanent: the caller bounces */
	QEXIT_TEMP = 111	/* temporary: the caller keeps the mail */
};

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

extern const char *progname;

_Noreturn void die(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);
_Noreturn void die_sys(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);
void warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void warn_sys(const char *fmt, ...) PRINTF_LIKE(1, 2);
_Noreturn void usage(const char *synopsis);

#endif
