/*
 * maildirmake - make a Maildir.
 *
 * Usage:  maildirmake DIR
 * Exit:   0 made (or already a Maildir); 100 bad usage or DIR exists and
 *         is not a directory; 111 any other trouble.
 */
#include <errno.h>
#include <sys/stat.h>

#include "die.h"
#include "maildir.h"

int
main(int argc, char **argv)
{
	struct stat st;

	progname = "maildirmake";
	if (argc != 2 || argv[1][0] == '-')
		usage("DIR");
	if (stat(argv[1], &st) == 0 && !S_ISDIR(st.st_mode))
		die(QEXIT_PERM, "%s: exists and is not a directory", argv[1]);
	if (maildir_make(argv[1]) == -1)
		die_sys(QEXIT_TEMP, "make %s", argv[1]);
	return QEXIT_OK;
}
