/*
 * atomic - write a file so that a crash leaves the old one or the new one.
 */
#ifndef VDMAIL_ATOMIC_H
#define VDMAIL_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write len bytes to path: a temporary file beside it (O_EXCL), write,
 * fsync, close, rename over path, fsync the directory.  0, or -1 with
 * errno and nothing left behind.
 */
int write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode);

#endif
