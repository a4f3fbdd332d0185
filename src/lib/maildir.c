/*
 * maildir - deliver into a Maildir.
 *
 * The name in tmp/ and new/ is "TIME.MusecPpid_Rrandom.HOST", unique
 * without relying on the clock alone: the random part comes from the
 * kernel.  '/' and ':' in the host name are written \057 and \072.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "maildir.h"
#include "xio.h"

static void
hostname(char *buf, size_t size)
{
	char raw[256];
	size_t n = 0;

	if (gethostname(raw, sizeof raw) == -1)
		strcpy(raw, "localhost");
	raw[sizeof raw - 1] = '\0';
	for (const char *p = raw; *p != '\0' && n + 5 < size; p++) {
		if (*p == '/' || *p == ':') {
			n += (size_t)snprintf(buf + n, size - n, "\\%03o",
			    (unsigned char)*p);
			continue;
		}
		buf[n++] = *p;
	}
	buf[n] = '\0';
}

static int
unique(char *name, size_t size)
{
	static char host[128];
	struct timeval tv;
	unsigned char r[6];
	int n;

	if (host[0] == '\0')
		hostname(host, sizeof host);
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	gettimeofday(&tv, NULL);
	n = snprintf(name, size, "%lld.M%06ldP%ld_R%02x%02x%02x%02x%02x%02x.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), r[0], r[1],
	    r[2], r[3], r[4], r[5], host);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
copy_fd(int out, int in, off_t off, uint64_t max, int *toobig)
{
	char buf[65536];
	uint64_t total = 0;

	for (;;) {
		ssize_t r;

		if (off >= 0) {
			do
				r = pread(in, buf, sizeof buf, off);
			while (r == -1 && errno == EINTR);
		} else {
			r = xread(in, buf, sizeof buf);
		}
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		total += (uint64_t)r;
		if (max > 0 && total > max) {
			*toobig = 1;
			return -1;
		}
		if (write_all(out, buf, (size_t)r) == -1)
			return -1;
		if (off >= 0)
			off += r;
	}
}

static int defer_set;
static dev_t defer_dev;
static int (*prepare_fn)(void *, const char *, const char *);
static void *prepare_arg;

void
maildir_prepare_with(int (*fn)(void *, const char *, const char *),
    void *arg)
{
	prepare_fn = fn;
	prepare_arg = arg;
}

int
maildir_commit(const char *tmp, const char *new)
{
	if (link(tmp, new) == -1)
		return -1;
	unlink(tmp);
	return 0;
}

void
maildir_defer_sync(dev_t dev)
{
	defer_set = 1;
	defer_dev = dev;
}

/* Is the sync of this new/ the caller's (maildir_defer_sync)? */
static int
deferred(const char *newdir)
{
	struct stat st;

	return defer_set && stat(newdir, &st) == 0 && st.st_dev == defer_dev;
}

int
maildir_store(const char *dir, const char *prefix, size_t prefixlen, int fd,
    off_t off, uint64_t max, char *name)
{
	char uniq[MAILDIR_NAME_MAX], tmp[4096], new[4096], newdir[4096];
	int out, e, toobig = 0, prepared;

	if (unique(uniq, sizeof uniq) == -1)
		return MAILDIR_ERR;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, uniq) >=
	    sizeof tmp ||
	    (size_t)snprintf(new, sizeof new, "%s/new/%s", dir, uniq) >=
	    sizeof new ||
	    (size_t)snprintf(newdir, sizeof newdir, "%s/new", dir) >=
	    sizeof newdir) {
		errno = ENAMETOOLONG;
		return MAILDIR_ERR;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out == -1)
		return MAILDIR_ERR;
	prepared = prepare_fn != NULL && deferred(newdir);
	if (write_all(out, prefix, prefixlen) == -1 ||
	    copy_fd(out, fd, off, max, &toobig) == -1 ||
	    (!prepared && fsync(out) == -1)) {
		e = errno;
		close(out);
		unlink(tmp);
		errno = e;
		return toobig ? MAILDIR_TOOBIG : MAILDIR_ERR;
	}
	if (prepared) {
		/* the caller syncs and links (maildir_prepare_with) */
		if (close_checked(out) == -1 ||
		    prepare_fn(prepare_arg, tmp, new) == -1)
			goto fail;
	} else {
		if (close_checked(out) == -1 || link(tmp, new) == -1)
			goto fail;
		unlink(tmp);
		if (!deferred(newdir) && fsync_dir(newdir) == -1) {
			e = errno;
			unlink(new);
			errno = e;
			return MAILDIR_ERR;
		}
	}
	if (name != NULL)
		snprintf(name, MAILDIR_NAME_MAX, "%s", uniq);
	return MAILDIR_OK;
fail:
	e = errno;
	unlink(tmp);
	errno = e;
	return MAILDIR_ERR;
}

/* mkdir, where an existing directory is fine but an existing file is not */
static int
make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
maildir_make(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char path[4096];

	if (make_dir(dir) == -1)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub[i]) >=
		    sizeof path) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (make_dir(path) == -1)
			return -1;
	}
	return 0;
}
