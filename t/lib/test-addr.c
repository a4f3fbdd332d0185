/*
 * test-addr - drive src/lib/addr, for t/lib-addr.bats.
 *
 *   test-addr parse PATH [SIZE]   addr_parse_path into a SIZE-byte buffer
 *                                 (default ADDR_BYTES_MAX + 1):
 *                                 "ok ADDR|REST|routed=N", or
 *                                 "err syntax|toolong|badchar" (exit 1)
 *   test-addr domain ADDR         addr_domain: the domain, or "(none)"
 *   test-addr routing ADDR        addr_has_routing: 1 or 0
 *   test-addr domain-valid D      domain_valid: 1 or 0
 *   test-addr clean STR           is_clean(STR): 1 or 0
 *   test-addr clean -             is_clean on all of stdin (NULs too)
 *   test-addr quote ADDR          addr_quote: the path's text between
 *                                 < and >, or "toolong" (exit 1) when it
 *                                 does not fit in 2 * ADDR_BYTES_MAX + 3
 *
 * Exit 2: bad test usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "xio.h"

static _Noreturn void
bad(void)
{
	fputs("test-addr: bad arguments\n", stderr);
	exit(2);
}

static int
parse(const char *s, size_t size)
{
	char *out = malloc(size);
	const char *rest = NULL;
	int routed = -1, r;

	if (out == NULL)
		return 2;
	r = addr_parse_path(s, out, size, &rest, &routed);
	switch (r) {
	case ADDR_OK:
		printf("ok %s|%s|routed=%d\n", out, rest, routed);
		break;
	case ADDR_SYNTAX:
		puts("err syntax");
		break;
	case ADDR_TOOLONG:
		puts("err toolong");
		break;
	case ADDR_BADCHAR:
		puts("err badchar");
		break;
	default:
		printf("err unknown %d\n", r);
		break;
	}
	free(out);
	return r == ADDR_OK ? 0 : 1;
}

static int
clean_stdin(void)
{
	char buf[65536];
	size_t n = 0;

	for (;;) {
		ssize_t r = xread(0, buf + n, sizeof buf - n);

		if (r < 0)
			return 2;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == sizeof buf)
			return 2;
	}
	printf("%d\n", is_clean(buf, n) ? 1 : 0);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		bad();
	if (strcmp(argv[1], "parse") == 0 && argc <= 4) {
		size_t size = ADDR_BYTES_MAX + 1;

		if (argc == 4) {
			char *end;
			unsigned long v = strtoul(argv[3], &end, 10);

			if (*end != '\0' || v == 0 || v > 1000000)
				bad();
			size = (size_t)v;
		}
		return parse(argv[2], size);
	}
	if (argc != 3)
		bad();
	if (strcmp(argv[1], "domain") == 0) {
		const char *d = addr_domain(argv[2]);

		puts(d != NULL ? d : "(none)");
		return 0;
	}
	if (strcmp(argv[1], "routing") == 0) {
		printf("%d\n", addr_has_routing(argv[2]) ? 1 : 0);
		return 0;
	}
	if (strcmp(argv[1], "domain-valid") == 0) {
		printf("%d\n", domain_valid(argv[2]) ? 1 : 0);
		return 0;
	}
	if (strcmp(argv[1], "quote") == 0) {
		char q[2 * ADDR_BYTES_MAX + 3];

		if (addr_quote(q, sizeof q, argv[2]) == -1) {
			puts("toolong");
			return 1;
		}
		printf("%s\n", q);
		return 0;
	}
	if (strcmp(argv[1], "clean") == 0) {
		if (strcmp(argv[2], "-") == 0)
			return clean_stdin();
		printf("%d\n", is_clean(argv[2], strlen(argv[2])) ? 1 : 0);
		return 0;
	}
	bad();
}
