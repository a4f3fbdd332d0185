/*
 * vdomain-route - say where each recipient goes.
 *
 * stdin:  one address per line (local@domain).
 * stdout: one route line per address, fields separated by a TAB:
 *           local  ADDRESS  LOCAL  USER  UID  GID  HOME  DASH  EXT
 *           remote ADDRESS  DOMAIN
 *         (DASH and EXT may be empty; see vdomain-route(8)).
 * Exit:   0 done; 100 a malformed address (line N on stderr); 111 a
 *         control file or users/assign unreadable or malformed.
 */
#include <stdio.h>
#include <string.h>

#include "die.h"
#include "line.h"
#include "route.h"

int
main(int argc, char **argv)
{
	char line[ADDR_BYTES_MAX + 2];
	struct rbuf in;
	size_t len, lineno = 0;
	struct route r;
	int s;

	progname = "vdomain-route";
	(void)argv;
	if (argc > 1)
		usage("<addresses");
	rbuf_init(&in, 0, -1);
	while ((s = rbuf_getline(&in, line, sizeof line, &len)) != LINE_EOF) {
		lineno++;
		if (s == LINE_TOOLONG)
			die(QEXIT_PERM, "line %zu: address too long", lineno);
		if (s == LINE_ERR)
			die_sys(QEXIT_TEMP, "read stdin");
		if (s != LINE_OK && s != LINE_PARTIAL)
			die(QEXIT_TEMP, "read stdin");
		if (memchr(line, '\0', len) != NULL)
			die(QEXIT_PERM, "line %zu: malformed address", lineno);
		switch (route_lookup(line, &r)) {
		case ROUTE_OK:
			break;
		case ROUTE_BADADDR:
			die(QEXIT_PERM, "line %zu: malformed address", lineno);
		default:
			die(QEXIT_TEMP, "%s", route_error);
		}
		if (r.kind == ROUTE_REMOTE)
			printf("remote\t%s\t%s\n", line, r.domain);
		else
			printf("local\t%s\t%s\t%s\t%lu\t%lu\t%s\t%s\t%s\n", line,
			    r.local, r.user, r.uid, r.gid, r.home, r.dash,
			    r.ext);
		if (s == LINE_PARTIAL)
			break;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die_sys(QEXIT_TEMP, "write stdout");
	return QEXIT_OK;
}
