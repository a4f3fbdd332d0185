/*
 * test-queue - drive src/lib/queue, for t/lib-queue.bats and the tests of
 * the programs that write the queue (t/queue-inject.bats uses "check" and
 * "make": keep their output stable).
 *
 *   test-queue check FILE...   queue_file_check on each FILE, one line
 *                              each: "FILE: ok", "FILE: bad: WHY" or
 *                              "FILE: error: strerror"; exit 1 if any
 *                              was not ok
 *   test-queue show FILE       queue_file_check, then the header's fields:
 *                              "id=ID time=T envelope=N message=M length=L"
 *   test-queue make DIR        queue_make(DIR)
 *   test-queue header ID TIME ENVELOPE MESSAGE
 *                              queue_header_format: the header's bytes
 *   test-queue parse           queue_header_parse on stdin (at most 4096
 *                              bytes): the fields as for show, or "bad"
 *                              (exit 1)
 *   test-queue state LINE      queue_state_line(LINE): "KIND IDX [REST]",
 *                              or "bad" (exit 1)
 *
 * Exit 2: bad test usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "xio.h"

static _Noreturn void
bad(void)
{
	fputs("test-queue: bad arguments\n", stderr);
	exit(2);
}

static uint64_t
num(const char *s)
{
	char *end;
	uint64_t v;

	if (*s < '0' || *s > '9')
		bad();
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		bad();
	return v;
}

static void
fields(const struct queue_header *h)
{
	printf("id=%s time=%lld envelope=%" PRIu64 " message=%" PRIu64
	    " length=%zu\n", h->id, h->time, h->envelope, h->message,
	    h->length);
}

static int
check(int n, char **files, int show)
{
	int bad_ones = 0;

	for (int i = 0; i < n; i++) {
		struct queue_header h;
		const char *why = "?";
		int r = queue_file_check(files[i], &h, &why);

		if (r == 0 && show) {
			fields(&h);
		} else if (r == 0) {
			printf("%s: ok\n", files[i]);
		} else if (r > 0) {
			printf("%s: bad: %s\n", files[i], why);
			bad_ones++;
		} else {
			printf("%s: error: %s\n", files[i], strerror(errno));
			bad_ones++;
		}
	}
	return bad_ones > 0;
}

static int
parse(void)
{
	char buf[4096];
	size_t n = 0;
	struct queue_header h;

	for (;;) {
		ssize_t r = xread(0, buf + n, sizeof buf - n);

		if (r < 0)
			return 2;
		if (r == 0 || (n += (size_t)r) == sizeof buf)
			break;
	}
	if (queue_header_parse(buf, n, &h) == -1) {
		puts("bad");
		return 1;
	}
	fields(&h);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		bad();
	if (strcmp(argv[1], "check") == 0 && argc >= 3)
		return check(argc - 2, argv + 2, 0);
	if (strcmp(argv[1], "show") == 0 && argc == 3)
		return check(1, argv + 2, 1);
	if (strcmp(argv[1], "make") == 0 && argc == 3) {
		if (queue_make(argv[2]) == -1) {
			fprintf(stderr, "test-queue: make %s: %s\n", argv[2],
			    strerror(errno));
			return 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "header") == 0 && argc == 6) {
		struct queue_header h;
		char buf[QUEUE_HEADER_MAX];
		size_t len;

		memset(&h, 0, sizeof h);
		if (strlen(argv[2]) >= sizeof h.id)
			bad();
		strcpy(h.id, argv[2]);
		h.time = (long long)num(argv[3]);
		h.envelope = num(argv[4]);
		h.message = num(argv[5]);
		len = queue_header_format(buf, &h);
		if (len == 0) {
			fputs("test-queue: header does not fit\n", stderr);
			return 1;
		}
		if (write_all(1, buf, len) == -1)
			return 1;
		return 0;
	}
	if (strcmp(argv[1], "state") == 0 && argc == 3) {
		const char *rest;
		unsigned long idx;
		char kind;

		if (!queue_state_line(argv[2], &kind, &idx, &rest)) {
			puts("bad");
			return 1;
		}
		printf("%c %lu [%s]\n", kind, idx, rest);
		return 0;
	}
	if (strcmp(argv[1], "parse") == 0 && argc == 2)
		return parse();
	bad();
}
