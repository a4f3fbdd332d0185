/*
 * qmail_db_lookup - forward a message by a table: one file for all the
 * users of a domain instead of one .qmail file each.
 *
 * Usage:  |qmail_db_lookup FILE      (a line of a .qmail-default)
 * The key is $DEFAULT (else $EXT), without regard to case.  FILE holds
 * "name: address, address ..." lines; "-" is the catch-all.  A target
 * with '@' is an address; one without is another name of FILE (expanded
 * in turn) or else a local user (@ and control/defaulthost added);
 * ":include:/path" reads a list from a file.  The message on stdin goes
 * on, with $DTLINE on top and $NEWSENDER as its sender.
 * Exit:   0 sent on; 100 no such name and no "-", or an alias loop (the
 *         names in it reported); 111 FILE malformed (line number
 *         reported) or any other trouble: the message waits.
 * FILE.cdb, the index beside it, is rebuilt whenever FILE changes.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "dbtable.h"
#include "die.h"
#include "fmt.h"
#include "inject.h"
#include "xio.h"

enum {
	DEPTH_MAX = 100,		/* nesting of names */
	ADDRESSES_MAX = 10000,		/* after expansion */
	INCLUDE_BYTES_MAX = 1024 * 1024
};

static const char *table;
static char defaulthost[DOMAIN_BYTES_MAX + 1];
static char *addrs[ADDRESSES_MAX];
static size_t naddrs;
static const char *stack[DEPTH_MAX];
static size_t depth;

static void target(const char *t);

static void
add_address(const char *a)
{
	if (strlen(a) > ADDR_BYTES_MAX || !is_clean(a, strlen(a)))
		die(QEXIT_TEMP, "%s: a malformed address: %.80s", table, a);
	for (size_t i = 0; i < naddrs; i++)
		if (strcmp(addrs[i], a) == 0)
			return;		/* each address once */
	if (naddrs == ADDRESSES_MAX)
		die(QEXIT_PERM, "more than %d addresses after expansion",
		    ADDRESSES_MAX);
	addrs[naddrs] = strdup(a);
	if (addrs[naddrs] == NULL)
		die(QEXIT_TEMP, "out of memory");
	naddrs++;
}

/* Expand a name: 1 found, 0 not in the table. */
static int
expand(const char *name)
{
	char *value, *p;
	size_t len;
	int r;

	for (size_t i = 0; i < depth; i++)
		if (strcasecmp(stack[i], name) == 0) {
			char cycle[1024] = "";

			/* room for a name's start, " -> " and the last name */
			for (size_t k = i; k < depth &&
			    strlen(cycle) + 8 < sizeof cycle; k++) {
				strncat(cycle, stack[k], sizeof cycle -
				    strlen(cycle) - 8);
				strncat(cycle, " -> ", sizeof cycle -
				    strlen(cycle) - 1);
			}
			strncat(cycle, name, sizeof cycle - strlen(cycle) - 1);
			die(QEXIT_PERM, "alias loop in %s: %s (#5.4.6)", table,
			    cycle);
		}
	if (depth == DEPTH_MAX)
		die(QEXIT_PERM, "aliases nested more than %d deep (#5.4.6)",
		    DEPTH_MAX);
	r = dbtable_lookup(table, name, 1, &value, &len);
	if (r == DBT_MALFORMED)
		die(QEXIT_TEMP, "%s", dbtable_error);
	if (r == DBT_ERR)
		die_sys(QEXIT_TEMP, "%s", table);
	if (r == DBT_MISSING)
		return 0;
	stack[depth++] = name;
	for (p = value; p < value + len; p += strlen(p) + 1)
		target(p);
	depth--;
	free(value);	/* deeper names on the stack are popped by now */
	return 1;
}

static void
include(const char *path)
{
	static size_t includes;		/* nesting: a list may include itself */
	char *data, *p;
	struct stat st;
	size_t n = 0;
	int fd;

	if (includes == DEPTH_MAX)
		die(QEXIT_PERM, ":include:%s: lists nested more than %d deep "
		    "(#5.4.6)", path, DEPTH_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		die_sys(QEXIT_TEMP, ":include:%s", path);
	if (fstat(fd, &st) == -1 || st.st_size > INCLUDE_BYTES_MAX)
		die(QEXIT_TEMP, ":include:%s: unreadable or too large", path);
	if (read_whole(fd, (size_t)st.st_size, &data, &n) == -1)
		die_sys(QEXIT_TEMP, ":include:%s", path);
	close(fd);
	includes++;
	for (p = data; *p != '\0';) {
		size_t k;

		if (*p == '#') {		/* a comment, to the line's end */
			p += strcspn(p, "\n");
			continue;
		}
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '#')
			continue;
		k = strcspn(p, ", \t\r\n");
		if (k == 0)
			break;
		{
			char t[ADDR_BYTES_MAX + 1];

			if (k > ADDR_BYTES_MAX)
				die(QEXIT_TEMP, ":include:%s: address too long",
				    path);
			memcpy(t, p, k);
			t[k] = '\0';
			target(t);
		}
		p += k;
	}
	includes--;
	free(data);
}

static void
target(const char *t)
{
	char a[ADDR_BYTES_MAX + DOMAIN_BYTES_MAX + 2];

	if (strncmp(t, ":include:", 9) == 0) {
		include(t + 9);
		return;
	}
	if (strchr(t, '@') != NULL) {
		add_address(t);
		return;
	}
	if (expand(t))
		return;
	/* a local user of this host */
	if (fmt(a, sizeof a, "%s@%s", t, defaulthost))
		die(QEXIT_TEMP, "address too long: %.80s", t);
	add_address(a);
}

int
main(int argc, char **argv)
{
	const char *key = getenv("DEFAULT"), *sender = getenv("NEWSENDER");
	const char *dtline = getenv("DTLINE");
	char me[DOMAIN_BYTES_MAX + 1];
	struct inject q;
	int code;

	progname = "qmail_db_lookup";
	if (argc != 2)
		usage("FILE");
	table = argv[1];
	if (key == NULL || key[0] == '\0')
		key = getenv("EXT");
	if (key == NULL)
		key = "";
	if (sender == NULL)
		sender = getenv("SENDER");
	if (sender == NULL)
		die(QEXIT_PERM, "NEWSENDER is not set: run me from a .qmail file");
	signal(SIGPIPE, SIG_IGN);
	if (control_line("me", me, sizeof me, "localhost") < 0 ||
	    control_line("defaulthost", defaulthost, sizeof defaulthost, me) < 0)
		die_sys(QEXIT_TEMP, "control/defaulthost");

	if (key[0] == '\0' || !expand(key)) {
		if (!expand("-"))
			die(QEXIT_PERM, "Sorry, no mailbox here by that name. (#5.1.1)");
	}
	if (naddrs == 0)
		die(QEXIT_PERM, "Sorry, no mailbox here by that name. (#5.1.1)");

	if (inject_open(&q, NULL) == -1)
		die_sys(QEXIT_TEMP, "start queue-inject");
	if (inject_copy(&q, dtline, 0) == -1)
		die_sys(QEXIT_TEMP, "read stdin");
	code = inject_close(&q, sender, (const char *const *)addrs, naddrs);
	if (code != 0)
		die(code >= 11 && code <= 40 ? QEXIT_PERM : QEXIT_TEMP, "%s",
		    inject_strerror(code));
	return QEXIT_OK;
}
