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
int close_checked(int fd);
/* Wait up to ms milliseconds for fd to be readable: 1 ready, 0 timeout, -1 error. */
int wait_readable(int fd, int ms);

#endif
