/*
 * test-atomic - drive src/lib/atomic, for t/lib-atomic.bats.
 *
 *   test-atomic write PATH [MODE]   write_file_atomic(PATH, stdin, MODE);
 *                                   MODE in octal, default 644
 *
 * Exit: 0 written; 1 failed ("test-atomic: ERRNO strerror" on stderr);
 * 2 bad test usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "atomic.h"
#include "xio.h"

static _Noreturn void
bad(void)
{
	fputs("test-atomic: bad arguments\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	char *p = NULL;
	size_t len = 0, cap = 0;
	unsigned long mode = 0644;

	if ((argc != 3 && argc != 4) || strcmp(argv[1], "write") != 0)
		bad();
	if (argc == 4) {
		char *end;

		errno = 0;
		mode = strtoul(argv[3], &end, 8);
		if (errno != 0 || *end != '\0' || mode > 07777)
			bad();
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *np;

			cap = cap ? cap * 2 : 65536;
			np = realloc(p, cap);
			if (np == NULL)
				return 2;
			p = np;
		}
		r = xread(0, p + len, cap - len);
		if (r < 0) {
			perror("test-atomic: read");
			return 2;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (write_file_atomic(argv[2], p, len, (mode_t)mode) == -1) {
		int e = errno;

		fprintf(stderr, "test-atomic: %d %s\n", e, strerror(e));
		free(p);
		return 1;
	}
	free(p);
	return 0;
}
