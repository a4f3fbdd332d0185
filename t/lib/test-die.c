/*
 * test-die - drive src/lib/die from the command line, for t/lib-die.bats.
 *
 *   test-die [-p PROG] fatal CODE TEXT   die(CODE, "%s", TEXT)
 *   test-die [-p PROG] sys CODE PATH     open(PATH) fails, then
 *                                        die_sys(CODE, "open %s", PATH)
 *   test-die [-p PROG] warn TEXT         warn(), then "after" on stdout
 *   test-die [-p PROG] warnsys ERRNO TEXT
 *                                        errno = ERRNO, warn_sys(), then
 *                                        "errno=N" on stdout (kept or not)
 *   test-die [-p PROG] usage SYNOPSIS    usage(SYNOPSIS)
 *   test-die [-p PROG] long CODE N       die(CODE) with N bytes of 'x'
 *
 * PROG sets progname (default "test-die").  Exit 2: bad test usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"

static _Noreturn void
bad(void)
{
	fputs("test-die: bad arguments\n", stderr);
	exit(2);
}

static int
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0 || v > 100000000)
		bad();
	return (int)v;
}

int
main(int argc, char **argv)
{
	const char *op;
	int i = 1;

	progname = "test-die";
	if (argc > 2 && strcmp(argv[1], "-p") == 0) {
		progname = argv[2];
		i = 3;
	}
	if (i >= argc)
		bad();
	op = argv[i++];
	if (strcmp(op, "fatal") == 0 && argc - i == 2) {
		die(num(argv[i]), "%s", argv[i + 1]);
	} else if (strcmp(op, "sys") == 0 && argc - i == 2) {
		int code = num(argv[i]);
		int fd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);

		if (fd != -1) {
			fputs("test-die: open succeeded\n", stderr);
			return 2;
		}
		die_sys(code, "open %s", argv[i + 1]);
	} else if (strcmp(op, "warn") == 0 && argc - i == 1) {
		warn("%s", argv[i]);
		puts("after");
		return 0;
	} else if (strcmp(op, "warnsys") == 0 && argc - i == 2) {
		int e = num(argv[i]);

		errno = e;
		warn_sys("%s", argv[i + 1]);
		printf("errno=%d\n", errno);
		return errno == e ? 0 : 1;
	} else if (strcmp(op, "usage") == 0 && argc - i == 1) {
		usage(argv[i]);
	} else if (strcmp(op, "long") == 0 && argc - i == 2) {
		int code = num(argv[i]);
		size_t n = (size_t)num(argv[i + 1]);
		char *s = malloc(n + 1);

		if (s == NULL)
			return 2;
		memset(s, 'x', n);
		s[n] = '\0';
		die(code, "%s", s);
	}
	bad();
}
