/*
 * control - the instance root and control files.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#include "control.h"
#include "xio.h"

#ifndef VDMAIL_ROOT_DEFAULT
#define VDMAIL_ROOT_DEFAULT "/var/vdmail"
#endif
#ifndef VDMAIL_BIN_DEFAULT
#define VDMAIL_BIN_DEFAULT "/usr/local/bin"
#endif
#ifndef VDMAIL_LIBEXEC_DEFAULT
#define VDMAIL_LIBEXEC_DEFAULT "/usr/local/libexec/vdmail"
#endif

static int pinned;

int
privileged(void)
{
	static int known = -1;	/* asked once: paths are made at every open */

	if (known == -1) {
		known = getuid() != geteuid() || getgid() != getegid();
#if defined(__linux__)
		/* started set-user-ID or set-group-ID, whatever the ids are
		 * now (a program may have set its euid back already) */
		if (getauxval(AT_SECURE) != 0)
			known = 1;
#endif
	}
	return known;
}

void
pin_builtin_paths(void)
{
	pinned = 1;
}

static const char *
env_or(const char *var, const char *def)
{
	const char *v;

	if (pinned || privileged())
		return def;
	v = getenv(var);
	return v != NULL && v[0] == '/' ? v : def;
}

const char *
vdmail_root(void)
{
	return env_or("VDMAIL_ROOT", VDMAIL_ROOT_DEFAULT);
}

const char *
vdmail_root_builtin(void)
{
	return VDMAIL_ROOT_DEFAULT;
}

const char *
vdmail_bin(void)
{
	return env_or("VDMAIL_BIN", VDMAIL_BIN_DEFAULT);
}

const char *
vdmail_libexec(void)
{
	return env_or("VDMAIL_LIBEXEC", VDMAIL_LIBEXEC_DEFAULT);
}

static int
join(char *buf, size_t size, const char *a, const char *b)
{
	int r = snprintf(buf, size, "%s/%s", a, b);

	if (r < 0 || (size_t)r >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
root_path(char *buf, size_t size, const char *sub)
{
	return join(buf, size, vdmail_root(), sub);
}

int
libexec_path(char *buf, size_t size, const char *prog)
{
	return join(buf, size, vdmail_libexec(), prog);
}

int
read_file_bounded(const char *path, size_t max, char **data, size_t *len,
    struct stat *stp)
{
	struct stat sb, *st = stp != NULL ? stp : &sb;
	int fd;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, st) == -1)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if ((uint64_t)st->st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if (read_whole(fd, (size_t)st->st_size, data, len) == -1)
		goto fail;
	close(fd);
	return 1;
fail:
	return close_failed(fd);
}

int
control_list(const char *name, int fold, struct strlist *l)
{
	char path[PATH_BYTES_MAX], sub[PATH_BYTES_MAX], *data;
	size_t len;
	int r;

	l->v = NULL;
	l->n = 0;
	l->data = NULL;
	if (snprintf(sub, sizeof sub, "control/%s", name) >= (int)sizeof sub ||
	    root_path(path, sizeof path, sub) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	r = read_file_bounded(path, CONTROL_BYTES_MAX, &data, &len, NULL);
	if (r <= 0)
		return r;
	return control_list_parse(data, len, fold, l);
}

int
control_list_parse(char *data, size_t len, int fold, struct strlist *l)
{
	char *p, *end;
	size_t cap = 0;

	l->v = NULL;
	l->n = 0;
	l->data = data;
	for (p = l->data, end = l->data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl != NULL ? nl : end;
		char *s = p;

		p = nl != NULL ? nl + 1 : end;
		*e = '\0';
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (s == e || *s == '#')
			continue;
		if (memchr(s, '\0', (size_t)(e - s)) != NULL)
			continue;	/* a NUL byte cannot be an entry */
		if (fold)
			for (char *c = s; c < e; c++)
				*c = (char)tolower((unsigned char)*c);
		if (l->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(l->v, ncap * sizeof *nv);

			if (nv == NULL) {
				strlist_free(l);
				errno = ENOMEM;
				return -1;
			}
			l->v = nv;
			cap = ncap;
		}
		l->v[l->n++] = s;
	}
	return 1;
}

void
strlist_free(struct strlist *l)
{
	free(l->v);
	free(l->data);
	l->v = NULL;
	l->data = NULL;
	l->n = 0;
}

int
control_line(const char *name, char *buf, size_t size, const char *def)
{
	struct strlist l;
	const char *v = def;
	int r = control_list(name, 0, &l);

	if (r < 0)
		return -1;
	if (r > 0 && l.n > 0)
		v = l.v[0];
	else
		r = 0;
	if (strlen(v) >= size) {
		strlist_free(&l);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, v);
	strlist_free(&l);
	return r;
}

int
control_ulong(const char *name, unsigned long *val, unsigned long def)
{
	char buf[64], *end;
	unsigned long v;
	int r = control_line(name, buf, sizeof buf, "");

	if (r < 0)
		return -1;
	if (r == 0) {
		*val = def;
		return 0;
	}
	if (!isdigit((unsigned char)buf[0])) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno != 0 || *end != '\0') {
		errno = errno ? errno : EINVAL;
		return -1;
	}
	*val = v;
	return 1;
}
