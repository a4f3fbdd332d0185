/*
 * rcptcheck - would delivery certainly bounce this address?
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "dbtable.h"
#include "dotqmail.h"
#include "fmt.h"
#include "rcptcheck.h"
#include "xio.h"

/*
 * A -default file whose first delivery line is "|qmail_db_lookup FILE"
 * forwards by a table: the name must be in it, or "-" must be.  1
 * deliverable or not sure, 0 certainly not.
 */
static int
table_deliverable(const char *dotqmail, const char *home, const char *key)
{
	char buf[4096], file[PATH_BYTES_MAX], *line, *value;
	const char *cmd, *arg, *base;
	size_t len;
	ssize_t n;
	int fd, k;

	fd = open(dotqmail, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 1;
	n = xread(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	for (line = strtok(buf, "\n"); line != NULL && line[0] == '#';
	    line = strtok(NULL, "\n"))
		;
	if (line == NULL || line[0] != '|')
		return 1;
	/* exactly "|[path/]qmail_db_lookup FILE", nothing a shell would read */
	cmd = line + 1;
	while (*cmd == ' ')
		cmd++;
	arg = strchr(cmd, ' ');
	if (arg == NULL)
		return 1;
	for (base = arg; base > cmd && base[-1] != '/'; base--)
		;
	if ((size_t)(arg - base) != 15 || strncmp(base, "qmail_db_lookup", 15))
		return 1;
	while (*arg == ' ')
		arg++;
	if (*arg == '\0' || strpbrk(arg, " \t;&|<>$`'\"\\*?[(){}~") != NULL)
		return 1;
	if (fmt(file, sizeof file, arg[0] == '/' ? "%s" : "%s/%s",
	    arg[0] == '/' ? arg : home, arg))
		return 1;
	k = dbtable_lookup(file, key, 1, &value, &len);
	free(value);
	if (k == DBT_MISSING) {
		k = dbtable_lookup(file, "-", 1, &value, &len);
		free(value);
	}
	return k == DBT_MISSING ? 0 : 1;
}

int
rcpt_deliverable_route(const struct route *r)
{
	char path[PATH_BYTES_MAX];
	long def;
	int k;

	if (r->kind == ROUTE_REMOTE || r->ext[0] == '\0')
		return 1;
	k = dotqmail_find(r->home, r->dash, r->ext, path, sizeof path, &def);
	if (k == DOTQMAIL_NONE)
		return 0;
	if (k == DOTQMAIL_FOUND && def >= 0)
		return table_deliverable(path, r->home, r->ext + def);
	return 1;
}

int
rcpt_deliverable(const char *addr)
{
	struct route r;
	int k = route_lookup(addr, &r);

	if (k == ROUTE_CONFIG)
		return -1;
	if (k != ROUTE_OK)
		return 1;
	return rcpt_deliverable_route(&r);
}
