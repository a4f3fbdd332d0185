/*
 * forward - send the message on stdin on to other addresses.
 *
 * Usage:  forward address ...
 * stdin:  the message.  Sender: $NEWSENDER (as set by dotqmail-exec).
 * When $DTLINE is set, it is put on top of the message, as an & line in
 * a .qmail file does, so that a forwarding loop is caught.
 * Exit:   0 queued; 100 bad usage or a permanent refusal by the queue;
 *         111 a temporary failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "die.h"
#include "inject.h"

int
main(int argc, char **argv)
{
	const char *sender = getenv("NEWSENDER");
	const char *dtline = getenv("DTLINE");
	struct inject q;
	int code;

	progname = "forward";
	/* an injector that stops reading must not kill us: its status tells */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage("address ...");
	if (sender == NULL)
		die(QEXIT_PERM, "NEWSENDER is not set");
	if (strlen(sender) > ADDR_BYTES_MAX || !is_clean(sender, strlen(sender)))
		die(QEXIT_PERM, "NEWSENDER is malformed");
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '\0' || strlen(argv[i]) > ADDR_BYTES_MAX ||
		    !is_clean(argv[i], strlen(argv[i])))
			die(QEXIT_PERM, "malformed address: argument %d", i);
	if (inject_open(&q, NULL) == -1)
		die_sys(QEXIT_TEMP, "start queue-inject");
	if (inject_copy(&q, dtline, 0) == -1)
		die_sys(QEXIT_TEMP, "read stdin");
	code = inject_close(&q, sender, (const char *const *)argv + 1,
	    (size_t)(argc - 1));
	if (code == 0)
		return QEXIT_OK;
	die(code >= 11 && code <= 40 ? QEXIT_PERM : QEXIT_TEMP, "%s",
	    inject_strerror(code));
}
