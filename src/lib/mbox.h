/*
 * mbox - append messages to an mbox file, with From_ lines, >From
 * quoting, and both kinds of lock (fcntl and a .lock file).
 */
#ifndef VDMAIL_MBOX_H
#define VDMAIL_MBOX_H

#include <stddef.h>
#include <sys/types.h>

enum {
	MBOX_LOCK_SECONDS = 30,		/* the longest wait for a lock */
	MBOX_STALE_LOCK_SECONDS = 300	/* an older .lock file is removed */
};

struct mbox_out {
	int fd;
	size_t len;
	char b[65536];
};

/* path.lock, made with O_EXCL; 0, or -1 (errno) after the wait. */
int mbox_dotlock(const char *lock);
/* The fcntl write lock on fd, waiting at most MBOX_LOCK_SECONDS. */
int mbox_fcntl_lock(int fd);
/*
 * Append to o: ufline and prefix as they are, then the bytes of fd in
 * from offset off to its end, a line matching ^>*From  getting one more
 * '>', the last line ended, and a blank line.  0, or -1 (errno).
 */
int mbox_put_message(struct mbox_out *o, const char *ufline,
    const char *prefix, int in, off_t off);
/* Write what is buffered. */
int mbox_flush(struct mbox_out *o);
/*
 * "From SENDER DATE\n" for now; sender "", or one too long for size, is
 * MAILER-DAEMON.  size: at least 64.
 */
void mbox_from_line(char *buf, size_t size, const char *sender);

#endif
