/*
 * test-control - drive src/lib/control, for t/lib-control.bats.
 *
 *   test-control list NAME [fold]   control_list: "r=R n=N", then each
 *                                    entry as "[entry]" on its own line
 *   test-control count NAME          control_list: "r=R n=N" only
 *   test-control line NAME DEFAULT   control_line: "r=R [value]"
 *   test-control ulong NAME DEFAULT  control_ulong: "r=R value"
 *   test-control root                vdmail_root()
 *   test-control libexec             vdmail_libexec()
 *   test-control rootpath SUB        root_path(SUB) into a 64-byte buffer
 *
 * On an error (-1) the line is "r=-1 ERRNO strerror" and the exit code 1.
 * Exit 2: bad test usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

static _Noreturn void
bad(void)
{
	fputs("test-control: bad arguments\n", stderr);
	exit(2);
}

static int
failed(void)
{
	int e = errno;

	printf("r=-1 %d %s\n", e, strerror(e));
	return 1;
}

int
main(int argc, char **argv)
{
	const char *op;

	if (argc < 2)
		bad();
	op = argv[1];
	if ((strcmp(op, "list") == 0 && (argc == 3 || argc == 4)) ||
	    (strcmp(op, "count") == 0 && argc == 3)) {
		struct strlist l;
		int fold = argc == 4 && strcmp(argv[3], "fold") == 0;
		int r = control_list(argv[2], fold, &l);

		if (r < 0)
			return failed();
		printf("r=%d n=%zu\n", r, l.n);
		if (strcmp(op, "list") == 0)
			for (size_t i = 0; i < l.n; i++)
				printf("[%s]\n", l.v[i]);
		strlist_free(&l);
		return 0;
	}
	if (strcmp(op, "line") == 0 && argc == 4) {
		char buf[256];
		int r = control_line(argv[2], buf, sizeof buf, argv[3]);

		if (r < 0)
			return failed();
		printf("r=%d [%s]\n", r, buf);
		return 0;
	}
	if (strcmp(op, "ulong") == 0 && argc == 4) {
		unsigned long v, def;
		char *end;
		int r;

		errno = 0;
		def = strtoul(argv[3], &end, 10);
		if (errno != 0 || *end != '\0')
			bad();
		r = control_ulong(argv[2], &v, def);
		if (r < 0)
			return failed();
		printf("r=%d %lu\n", r, v);
		return 0;
	}
	if (strcmp(op, "root") == 0 && argc == 2) {
		puts(vdmail_root());
		return 0;
	}
	if (strcmp(op, "libexec") == 0 && argc == 2) {
		puts(vdmail_libexec());
		return 0;
	}
	if (strcmp(op, "rootpath") == 0 && argc == 3) {
		char buf[64];

		if (root_path(buf, sizeof buf, argv[2]) == -1)
			return failed();
		puts(buf);
		return 0;
	}
	bad();
}
