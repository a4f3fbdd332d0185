/*
 * maildir - deliver into a Maildir: tmp/, fsync, new/.
 */
#ifndef VDMAIL_MAILDIR_H
#define VDMAIL_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	MAILDIR_NAME_MAX = 256
};

enum maildir_status {
	MAILDIR_OK = 0,
	MAILDIR_TOOBIG = 1,	/* over the caller's limit: nothing left behind */
	MAILDIR_ERR = -1	/* errno says why: nothing left behind */
};

/*
 * Store prefix (prefixlen bytes, e.g. Return-Path and Delivered-To lines)
 * followed by the bytes of fd from offset off to its end (off < 0: read
 * fd from where it stands, for pipes) into dir: a unique name in tmp/,
 * fsync, link into new/, fsync new/, unlink the tmp/ name.  max > 0
 * limits the bytes read from fd.  The new file's name goes to name
 * (MAILDIR_NAME_MAX bytes) when it is not NULL.
 */
int maildir_store(const char *dir, const char *prefix, size_t prefixlen,
    int fd, off_t off, uint64_t max, char *name);
/* Make dir, dir/tmp, dir/new, dir/cur (mode 0700); existing ones are fine. */
int maildir_make(const char *dir);
/*
 * From now on (in this process and the children it forks), a delivery
 * into a Maildir on device dev leaves the sync of its new/ to the caller,
 * who must then make that filesystem durable (sync_filesystem()) before
 * it reports any of those deliveries: one sync for many of them.
 */
void maildir_defer_sync(dev_t dev);
/*
 * With fn set (and maildir_defer_sync() in force), a delivery into a
 * Maildir on that device only writes its file in tmp/, unsynced, and
 * hands the two paths to fn(arg, TMP, NEW); fn returns 0, or -1 (errno
 * set) to fail that delivery, whose TMP is then removed.  The caller
 * then syncs the filesystem, links each TMP to its NEW, removes TMP and
 * syncs again (maildir_commit), so that two syncs serve many deliveries
 * and no file is in new/ before its data is on disk.  NULL turns it off.
 */
void maildir_prepare_with(int (*fn)(void *, const char *, const char *),
    void *arg);
/* Link tmp to new, then remove tmp: 0, or -1 with errno. */
int maildir_commit(const char *tmp, const char *new);

#endif
