/*
 * xio - EINTR-safe reads and writes, checked to the last byte.
 */
#ifndef VDMAIL_XIO_H
#define VDMAIL_XIO_H

#include <stddef.h>
#include <sys/types.h>

ssize_t xread(int fd, void *buf, size_t len);
int write_all(int fd, const void *buf, size_t len);
int fsync_dir(const char *dir);
int sync_filesystem(int fd);
/*
 * 1 when sync_filesystem() can be trusted for fd's filesystem: Linux 5.17
 * or later (syncfs reports writeback and commit errors since), on ext2/3/4, XFS,
 * Btrfs or tmpfs; else 0, and the caller syncs file by file.
 */
int sync_filesystem_usable(int fd);
/*
 * sync_filesystem(fd), shared with concurrent callers through lockfd, a
 * lock file open for reading and writing on that filesystem (group
 * commit): a caller whose writes were done before a sync by another
 * caller began waits for that sync to end instead of starting its own.
 * The syncs are made one at a time, each by a caller holding a lock, so
 * none spins on the kernel's.  lockfd -1, any trouble with the lock file,
 * or a lock not had within a quarter of a second (its holder may be
 * stopped): a sync of its own.  0, or -1 with errno from the sync.
 */
int sync_filesystem_shared(int fd, int lockfd);
struct flock;
/*
 * fcntl(fd, F_SETLKW, fl), waiting wait microseconds at most: 0, or -1
 * (errno EINTR when the wait ran out).  The caller sleeps in the kernel
 * until the lock is free or a timer (ITIMER_REAL, SIGALRM) ends the
 * wait; a timer the caller had set is put back afterwards, less the time
 * waited, and if it fell due within the wait it ends the wait and its
 * handler gets its SIGALRM.
 */
int lock_wait(int fd, struct flock *fl, long long wait);
int close_checked(int fd);
/* Close fd on a way out after a failure: errno kept, always -1. */
int close_failed(int fd);
/* Wait up to ms milliseconds for fd to be readable: 1 ready, 0 timeout, -1 error. */
int wait_readable(int fd, int ms);

/*
 * Read size bytes (a file's size, from fstat) from fd into a new buffer,
 * NUL-terminated; a file that shrank meanwhile gives what is there.
 * 0 with *data and *len set, or -1 with errno.
 */
int read_whole(int fd, size_t size, char **data, size_t *len);
/*
 * Make fd 0 a regular file that can be read again: a regular file is
 * used in place, from its current offset; anything else (a pipe) is
 * copied into an unlinked file in /tmp, which becomes fd 0.  *base is
 * where the data starts, *size how many bytes it has.  0, or -1 with
 * errno (what failed in *what).
 */
int seekable_stdin(off_t *base, long long *size, const char **what);

#endif
