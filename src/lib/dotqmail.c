/*
 * dotqmail - which .qmail file controls a local address.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dotqmail.h"

void
dotqmail_fold(char *dst, size_t size, const char *ext)
{
	size_t n = 0;

	for (; *ext != '\0' && n + 1 < size; ext++)
		dst[n++] = *ext == '.' ? ':' : (char)tolower((unsigned char)*ext);
	dst[n] = '\0';
}

/* 1 exists, 0 does not, -1 error. */
static int
exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

static int
try(char *path, size_t size, const char *home, const char *dash,
    const char *ext, size_t extlen, const char *tail)
{
	int n = snprintf(path, size, "%s/.qmail%s%.*s%s", home, dash,
	    (int)extlen, ext, tail);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return exists(path);
}

int
dotqmail_find(const char *home, const char *dash, const char *ext,
    char *path, size_t size, long *def)
{
	char folded[1024];
	size_t n;
	int r;

	dotqmail_fold(folded, sizeof folded, ext);
	n = strlen(folded);
	*def = -1;
	r = try(path, size, home, n > 0 ? dash : "", folded, n, "");
	if (r != 0 || n == 0)
		return r;
	/* the -default files, longest prefix first */
	for (size_t i = n; ; i--) {
		if (i == 0 || folded[i - 1] == '-') {
			r = try(path, size, home, dash, folded, i, "default");
			if (r != 0) {
				if (r == 1)
					*def = (long)i;
				return r;
			}
		}
		if (i == 0)
			break;
	}
	return DOTQMAIL_NONE;
}
