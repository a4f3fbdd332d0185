/*
 * mbox - append messages to an mbox file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "mbox.h"
#include "xio.h"

int
mbox_dotlock(const char *lock)
{
	for (int i = 0; i < MBOX_LOCK_SECONDS * 10; i++) {
		struct stat st;
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);

		if (fd != -1) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
		if (stat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > MBOX_STALE_LOCK_SECONDS)
			unlink(lock);
		else
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	errno = EWOULDBLOCK;
	return -1;
}

int
mbox_fcntl_lock(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return lock_wait(fd, &fl, MBOX_LOCK_SECONDS * 1000000LL);
}

int
mbox_flush(struct mbox_out *o)
{
	if (o->len > 0 && write_all(o->fd, o->b, o->len) == -1)
		return -1;
	o->len = 0;
	return 0;
}

static int
put(struct mbox_out *o, const char *s, size_t n)
{
	if (o->len + n > sizeof o->b) {
		if (mbox_flush(o) == -1)
			return -1;
		if (n > sizeof o->b)
			return write_all(o->fd, s, n);
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
	return 0;
}

static int
put_gts(struct mbox_out *o, size_t n)
{
	while (n-- > 0)
		if (put(o, ">", 1) == -1)
			return -1;
	return 0;
}

int
mbox_put_message(struct mbox_out *o, const char *ufline, const char *prefix,
    int in, off_t off)
{
	char buf[65536];
	int last = '\n', cand = 1;
	size_t gts = 0, k = 0;

	if (put(o, ufline, strlen(ufline)) == -1 ||
	    put(o, prefix, strlen(prefix)) == -1)
		return -1;
	for (;;) {
		ssize_t r;

		do
			r = pread(in, buf, sizeof buf, off);
		while (r == -1 && errno == EINTR);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		off += r;
		for (ssize_t i = 0; i < r; i++) {
			char c = buf[i];

			last = c;
			if (cand) {
				/* a line start: count '>', then match "From " */
				if (k == 0 && c == '>') {
					gts++;
					continue;
				}
				if (c == "From "[k]) {
					if (++k < 5)
						continue;
					if (put(o, ">", 1) == -1 ||
					    put_gts(o, gts) == -1 ||
					    put(o, "From ", 5) == -1)
						return -1;
					cand = 0;
					continue;
				}
				if (put_gts(o, gts) == -1 ||
				    put(o, "From ", k) == -1)
					return -1;
				cand = 0;
			}
			if (put(o, &c, 1) == -1)
				return -1;
			if (c == '\n') {
				cand = 1;
				gts = 0;
				k = 0;
			}
		}
	}
	if (cand && (put_gts(o, gts) == -1 || put(o, "From ", k) == -1))
		return -1;
	if (last != '\n' && put(o, "\n", 1) == -1)
		return -1;
	return put(o, "\n", 1);
}

void
mbox_from_line(char *buf, size_t size, const char *sender)
{
	time_t now = time(NULL);
	char date[64];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
	/* a line cut short would run into the message's first line */
	if (sender[0] == '\0' ||
	    fmt(buf, size, "From %s %s\n", sender, date) != 0)
		(void)fmt(buf, size, "From MAILER-DAEMON %s\n", date);
}
