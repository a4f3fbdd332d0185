/*
 * dbtable - forwarding tables with a cdb index beside them.
 *
 * The index FILE.cdb holds each name (lowercased) with its targets, and
 * under the key "\0source" the identity of the text it was built from
 * (device, inode, size and modification time in nanoseconds): any edit
 * of the text changes it, so a stale index is never used.
 *
 * Text format: "name: target, target ..." (commas or white space
 * between targets), '#' comment lines, blank lines; a line beginning
 * with white space continues the entry above (as /etc/aliases allows).
 */
#include <cdb.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbtable.h"
#include "fmt.h"
#include "xio.h"

char dbtable_error[512];

static const char source_key[] = "\0source";

static void
source_id(const struct stat *st, char *buf, size_t size)
{
	(void)fmt(buf, size, "%llu:%llu:%lld:%lld.%09ld",
	    (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
	    (long long)st->st_size, (long long)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec);
}

/*
 * Parse the text: call fn(name, targets, len, arg) for each entry,
 * targets NUL-separated.  0, DBT_ERR or DBT_MALFORMED.
 */
typedef int (*entry_fn)(const char *name, const char *targets, size_t len,
    void *arg);

static int
parse(const char *path, entry_fn fn, void *arg)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *entry = NULL, *targets = NULL;
	size_t cap = 0, elen = 0, lineno = 0, start = 0;
	ssize_t n;
	int r = 0;

	if (f == NULL)
		return DBT_ERR;
	entry = malloc(DBTABLE_LINE_MAX + 1);
	targets = malloc(DBTABLE_LINE_MAX + 2);
	if (entry == NULL || targets == NULL) {
		r = DBT_ERR;
		goto out;
	}
	/* one more round at EOF flushes the last entry */
	for (int eof = 0; !eof;) {
		n = getline(&line, &cap, f);
		if (n < 0) {
			if (ferror(f)) {
				r = DBT_ERR;
				goto out;
			}
			eof = 1;
			n = 0;
		} else {
			lineno++;
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (memchr(line, '\0', (size_t)n) != NULL) {
				(void)fmt(dbtable_error, sizeof dbtable_error,
				    "%s:%zu: a NUL byte", path, lineno);
				r = DBT_MALFORMED;
				goto out;
			}
			if (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
				size_t k = strspn(line, " \t");

				if (line[k] == '\0' || line[k] == '#')
					continue;
				if (elen == 0) {
					(void)fmt(dbtable_error,
					    sizeof dbtable_error, "%s:%zu: a "
					    "continuation line without an entry",
					    path, lineno);
					r = DBT_MALFORMED;
					goto out;
				}
				if (elen + 1 + (size_t)n > DBTABLE_LINE_MAX) {
					(void)fmt(dbtable_error,
					    sizeof dbtable_error,
					    "%s:%zu: entry too long", path, lineno);
					r = DBT_MALFORMED;
					goto out;
				}
				entry[elen++] = ' ';
				memcpy(entry + elen, line, (size_t)n);
				elen += (size_t)n;
				continue;
			}
		}
		/* a new entry (or EOF): finish the one being collected */
		if (elen > 0) {
			char *colon, *p, *q;
			size_t tl = 0;

			entry[elen] = '\0';
			colon = strchr(entry, ':');
			q = colon;
			while (q != NULL && q > entry && isspace((unsigned char)
			    q[-1]))
				q--;
			if (colon == NULL || q == entry ||
			    (size_t)(q - entry) > DBTABLE_NAME_MAX) {
				(void)fmt(dbtable_error, sizeof dbtable_error,
				    "%s:%zu: not \"name: address ...\"", path,
				    start);
				r = DBT_MALFORMED;
				goto out;
			}
			*q = '\0';
			for (p = entry; *p != '\0'; p++) {
				if (isspace((unsigned char)*p)) {
					(void)fmt(dbtable_error,
					    sizeof dbtable_error, "%s:%zu: a "
					    "name with white space", path, start);
					r = DBT_MALFORMED;
					goto out;
				}
				*p = (char)tolower((unsigned char)*p);
			}
			/* the targets, split at commas and white space */
			for (p = colon + 1; *p != '\0';) {
				size_t k;

				while (*p == ',' || isspace((unsigned char)*p))
					p++;
				k = strcspn(p, ", \t");
				if (k == 0)
					break;
				memcpy(targets + tl, p, k);
				tl += k;
				targets[tl++] = '\0';
				p += k;
			}
			if (tl == 0) {
				(void)fmt(dbtable_error, sizeof dbtable_error,
				    "%s:%zu: %s has no address", path, start,
				    entry);
				r = DBT_MALFORMED;
				goto out;
			}
			r = fn(entry, targets, tl, arg);
			if (r != 0)
				goto out;
			elen = 0;
		}
		if (eof)
			break;
		if (n == 0 || line[0] == '#')
			continue;
		if ((size_t)n > DBTABLE_LINE_MAX) {
			(void)fmt(dbtable_error, sizeof dbtable_error,
			    "%s:%zu: line too long", path, lineno);
			r = DBT_MALFORMED;
			goto out;
		}
		memcpy(entry, line, (size_t)n);
		elen = (size_t)n;
		start = lineno;
	}
out:
	free(line);
	free(entry);
	free(targets);
	fclose(f);
	return r;
}

struct build {
	struct cdb_make cm;
	const char *path;
};

static int
add_entry(const char *name, const char *targets, size_t len, void *arg)
{
	struct build *b = arg;
	int k = cdb_make_put(&b->cm, name, (unsigned)strlen(name), targets,
	    (unsigned)len, CDB_PUT_INSERT);

	if (k < 0)
		return DBT_ERR;
	if (k > 0) {
		(void)fmt(dbtable_error, sizeof dbtable_error,
		    "%s: %s is listed twice", b->path, name);
		return DBT_MALFORMED;
	}
	return 0;
}

static int
build(const char *path, const struct stat *st)
{
	char cdbpath[4096], tmp[4200], id[128];
	struct build b;
	int fd, r, e;

	if (fmt(cdbpath, sizeof cdbpath, "%s.cdb", path) ||
	    fmt(tmp, sizeof tmp, "%s.cdb.tmp%ld", path, (long)getpid())) {
		errno = ENAMETOOLONG;
		return DBT_ERR;
	}
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return DBT_ERR;
	b.path = path;
	if (cdb_make_start(&b.cm, fd) < 0) {
		r = DBT_ERR;
		goto fail;
	}
	source_id(st, id, sizeof id);
	if (cdb_make_add(&b.cm, source_key, sizeof source_key - 1, id,
	    (unsigned)strlen(id)) < 0) {
		r = DBT_ERR;
		goto fail;
	}
	r = parse(path, add_entry, &b);
	if (r != 0)
		goto fail;
	if (cdb_make_finish(&b.cm) < 0 || fsync(fd) == -1) {
		r = DBT_ERR;
		goto fail;
	}
	if (close_checked(fd) == -1) {
		fd = -1;
		r = DBT_ERR;
		goto fail;
	}
	if (rename(tmp, cdbpath) == -1) {
		e = errno;
		unlink(tmp);
		errno = e;
		return DBT_ERR;
	}
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = e;
	return r;
}

int
dbtable_build(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return DBT_ERR;
	return build(path, &st);
}

/* The text searched directly: for a table whose directory is not ours. */
struct scan {
	const char *name;
	char *value;
	size_t len;
	const char *path;
};

static int
match_entry(const char *name, const char *targets, size_t len, void *arg)
{
	struct scan *s = arg;

	if (strcmp(name, s->name) != 0)
		return 0;
	if (s->value != NULL) {		/* as the index would refuse it */
		(void)fmt(dbtable_error, sizeof dbtable_error,
		    "%s: %s is listed twice", s->path, name);
		return DBT_MALFORMED;
	}
	s->value = malloc(len);
	if (s->value == NULL)
		return DBT_ERR;
	memcpy(s->value, targets, len);
	s->len = len;
	return 0;
}

/* Open the index if it was built from this very text: fd, or -1. */
static int
fresh_index(const char *path, const struct stat *st, struct cdb *c)
{
	char cdbpath[4096], id[128], have[128];
	unsigned vl;
	int fd;

	if (fmt(cdbpath, sizeof cdbpath, "%s.cdb", path))
		return -1;
	fd = open(cdbpath, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (cdb_init(c, fd) != 0) {
		close(fd);
		return -1;
	}
	source_id(st, id, sizeof id);
	if (cdb_find(c, source_key, sizeof source_key - 1) <= 0 ||
	    (vl = cdb_datalen(c)) >= sizeof have ||
	    cdb_read(c, have, vl, cdb_datapos(c)) != 0) {
		cdb_free(c);
		close(fd);
		return -1;
	}
	have[vl] = '\0';
	if (strcmp(have, id) != 0) {
		cdb_free(c);
		close(fd);
		return -1;
	}
	return fd;
}

int
dbtable_lookup(const char *path, const char *name, int rebuild,
    char **value, size_t *len)
{
	char key[DBTABLE_NAME_MAX + 1];
	struct stat st;
	struct cdb c;
	size_t kl = strlen(name);
	int fd, r;

	*value = NULL;
	*len = 0;
	dbtable_error[0] = '\0';
	if (kl == 0 || kl > DBTABLE_NAME_MAX)
		return DBT_MISSING;
	for (size_t i = 0; i <= kl; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	if (stat(path, &st) == -1)
		return DBT_ERR;
	fd = fresh_index(path, &st, &c);
	if (fd == -1) {
		if (!rebuild) {
			errno = ESTALE;
			return DBT_ERR;
		}
		r = build(path, &st);
		if (r == DBT_MALFORMED)
			return r;
		if (r != 0) {
			struct scan s = { key, NULL, 0, path };

			if (errno != EACCES && errno != EROFS && errno != EPERM)
				return DBT_ERR;
			/* no index possible here: read the text itself */
			r = parse(path, match_entry, &s);
			if (r != 0) {
				free(s.value);
				return r;
			}
			*value = s.value;
			*len = s.len;
			return s.value != NULL ? DBT_FOUND : DBT_MISSING;
		}
		/* the text may have changed again meanwhile: that is fine,
		 * this index answers for the text as it was a moment ago */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			return DBT_ERR;
		close(fd);
		{
			char cdbpath[4096];

			(void)fmt(cdbpath, sizeof cdbpath, "%s.cdb", path);
			fd = open(cdbpath, O_RDONLY | O_CLOEXEC);
			if (fd == -1 || cdb_init(&c, fd) != 0) {
				if (fd != -1)
					close(fd);
				return DBT_ERR;
			}
		}
	}
	r = cdb_find(&c, key, (unsigned)kl);
	if (r > 0) {
		unsigned vl = cdb_datalen(&c);

		*value = malloc(vl + 1);
		if (*value == NULL || cdb_read(&c, *value, vl,
		    cdb_datapos(&c)) != 0) {
			free(*value);
			*value = NULL;
			r = -1;
		} else {
			*len = vl;
		}
	}
	cdb_free(&c);
	close(fd);
	if (r < 0)
		return DBT_ERR;
	return r > 0 ? DBT_FOUND : DBT_MISSING;
}
