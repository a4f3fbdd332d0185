/*
 * test-msgid - drive src/lib/msgid, for t/lib-msgid.bats.
 *
 *   test-msgid new [N]     N (default 1) fresh ids, one a line
 *   test-msgid valid STR   "valid" (exit 0) or "invalid" (exit 1)
 *   test-msgid bucket STR  msgid_bucket(STR)
 *   test-msgid alphabet    msgid_alphabet
 *
 * Exit 2: bad test usage; 111: msgid_new failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgid.h"

static _Noreturn void
bad(void)
{
	fputs("test-msgid: bad arguments\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		bad();
	if (strcmp(argv[1], "new") == 0 && argc <= 3) {
		unsigned long n = 1;
		char id[MSGID_BYTES_MAX];

		if (argc == 3) {
			char *end;

			errno = 0;
			n = strtoul(argv[2], &end, 10);
			if (errno != 0 || *end != '\0' || n > 10000000)
				bad();
		}
		while (n-- > 0) {
			/* a poisoned buffer: every byte printed was written */
			memset(id, '#', sizeof id);
			if (msgid_new(id) == -1) {
				perror("test-msgid: msgid_new");
				return 111;
			}
			if (memchr(id, '\0', sizeof id) == NULL) {
				fputs("test-msgid: id not terminated\n",
				    stderr);
				return 1;
			}
			puts(id);
		}
		return 0;
	}
	if (strcmp(argv[1], "valid") == 0 && argc == 3) {
		int v = msgid_valid(argv[2]) != 0;

		puts(v ? "valid" : "invalid");
		return v ? 0 : 1;
	}
	if (strcmp(argv[1], "bucket") == 0 && argc == 3) {
		printf("%c\n", msgid_bucket(argv[2]));
		return 0;
	}
	if (strcmp(argv[1], "alphabet") == 0 && argc == 2) {
		puts(msgid_alphabet);
		return 0;
	}
	bad();
}
