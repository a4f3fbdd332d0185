/*
 * vpasswd - vdmail's virtual POP users.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "control.h"
#include "fmt.h"
#include "vpasswd.h"

int
vuser_address_ok(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t ll;

	if (at == NULL)
		return 0;
	ll = (size_t)(at - addr);
	if (ll == 0 || ll > VLOCAL_BYTES_MAX || addr[0] == '.' ||
	    addr[ll - 1] == '.' || !domain_valid(at + 1) || at[1] == '[')
		return 0;
	for (size_t i = 0; i < ll; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (!(islower(c) || isdigit(c) || strchr("._+-", c) != NULL))
			return 0;
		if (c == '.' && addr[i + 1] == '.')
			return 0;
	}
	for (const char *p = at + 1; *p != '\0'; p++)
		if (isupper((unsigned char)*p))
			return 0;
	return 1;
}

int
vpasswd_find(const char *addr, char *hash, size_t size)
{
	size_t al = strlen(addr);
	int found = 0;
	char path[PATH_BYTES_MAX];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (root_path(path, sizeof path, "users/passwd") == -1)
		return -1;
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *colon;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		colon = strchr(line, ':');
		if (colon == NULL || (size_t)(colon - line) != al ||
		    strncasecmp(line, addr, al) != 0)
			continue;
		if (strlen(colon + 1) >= size)
			break;
		strcpy(hash, colon + 1);
		found = 1;
		break;
	}
	if (ferror(f)) {
		free(line);
		fclose(f);
		return -1;
	}
	free(line);
	fclose(f);
	return found;
}

int
vpasswd_maildir(const char *addr, const struct route *r, char *buf,
    size_t size)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL || fmt(buf, size, "%s/vpop/%.*s/Maildir/", r->home,
	    (int)(at - addr), addr)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
