/*
 * maildir-store - put the message on stdin into a Maildir.
 *
 * Usage:  maildir-store [-s maxbytes] DIR
 * stdin:  the message, stored byte for byte (a file or a pipe).
 * Exit:   0 once it is in DIR/new and fsynced; 100 over maxbytes or bad
 *         usage; 111 any other trouble.  Nothing is left in tmp/ or new/
 *         after a failure.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "die.h"
#include "maildir.h"

int
main(int argc, char **argv)
{
	char name[MAILDIR_NAME_MAX];
	unsigned long long max = 0;
	struct stat st;
	off_t off = -1;
	int c, r;

	progname = "maildir-store";
	while ((c = getopt(argc, argv, "s:")) != -1) {
		char *end;

		switch (c) {
		case 's':
			errno = 0;
			max = strtoull(optarg, &end, 10);
			if (!isdigit((unsigned char)optarg[0]) || *end != '\0' ||
			    errno != 0)
				usage("[-s maxbytes] DIR");
			break;
		default:
			usage("[-s maxbytes] DIR");
		}
	}
	if (argc - optind != 1)
		usage("[-s maxbytes] DIR");
	/* a regular file on stdin is read from its current offset with pread */
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode))
		off = lseek(0, 0, SEEK_CUR);
	r = maildir_store(argv[optind], "", 0, 0, off, max, name);
	if (r == MAILDIR_TOOBIG)
		die(QEXIT_PERM, "%s: message over %llu bytes", argv[optind], max);
	if (r != MAILDIR_OK)
		die_sys(QEXIT_TEMP, "%s", argv[optind]);
	return QEXIT_OK;
}
