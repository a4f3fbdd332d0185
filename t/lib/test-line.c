/*
 * test-line - drive src/lib/line from the command line, for t/lib-line.bats.
 *
 *   test-line getline MAX [TIMEOUT_MS]
 *       Call rbuf_getline(MAX) on stdin until it returns EOF, an error or
 *       a timeout, printing one line per call:
 *           ok LEN TEXT        LINE_OK
 *           partial LEN TEXT   LINE_PARTIAL
 *           toolong            LINE_TOOLONG (the reader goes on)
 *           eof | timeout | err ERRNO
 *       TEXT is the line with every byte outside 0x21..0x7e except the
 *       space written as \xHH (so a CR shows as \x0d, a NUL as \x00).
 *   test-line getc N [TIMEOUT_MS]
 *       Call rbuf_getc N times: each byte as "c HH", or "eof" /
 *       "timeout" / "err"; then "pending P" (rbuf_pending).
 *
 * Exit: 0, or 2 on bad test usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"

static _Noreturn void
bad(void)
{
	fputs("test-line: bad arguments\n", stderr);
	exit(2);
}

static long
num(const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min ||
	    v > 100000000)
		bad();
	return v;
}

static void
show(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static int
getlines(size_t max, int timeout)
{
	struct rbuf *rb = malloc(sizeof *rb);
	char *line = malloc(max);

	if (rb == NULL || line == NULL)
		return 2;
	rbuf_init(rb, 0, timeout);
	for (;;) {
		size_t len = 0;
		int r = rbuf_getline(rb, line, max, &len);

		switch (r) {
		case LINE_OK:
		case LINE_PARTIAL:
			if (len >= max || line[len] != '\0') {
				printf("bad terminator len=%zu\n", len);
				return 1;
			}
			printf("%s %zu ", r == LINE_OK ? "ok" : "partial", len);
			show(line, len);
			putchar('\n');
			break;
		case LINE_TOOLONG:
			puts("toolong");
			break;
		case LINE_EOF:
			puts("eof");
			goto done;
		case LINE_TIMEOUT:
			puts("timeout");
			goto done;
		case LINE_ERR:
			printf("err %d\n", errno);
			goto done;
		default:
			printf("unknown %d\n", r);
			goto done;
		}
		fflush(stdout);
	}
done:
	free(line);
	free(rb);
	return 0;
}

static int
getcs(long n, int timeout)
{
	struct rbuf *rb = malloc(sizeof *rb);

	if (rb == NULL)
		return 2;
	rbuf_init(rb, 0, timeout);
	for (long i = 0; i < n; i++) {
		int c = rbuf_getc(rb);

		if (c >= 0)
			printf("c %02x\n", (unsigned)c);
		else if (c == LINE_EOF)
			puts("eof");
		else if (c == LINE_TIMEOUT)
			puts("timeout");
		else
			printf("err %d\n", c);
	}
	printf("pending %zu\n", rbuf_pending(rb));
	free(rb);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3 || argc > 4)
		bad();
	if (strcmp(argv[1], "getline") == 0)
		return getlines((size_t)num(argv[2], 1),
		    argc == 4 ? (int)num(argv[3], -1) : -1);
	if (strcmp(argv[1], "getc") == 0)
		return getcs(num(argv[2], 0),
		    argc == 4 ? (int)num(argv[3], -1) : -1);
	bad();
}
