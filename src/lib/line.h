/*
 * line - a buffered reader over a descriptor, with bounded lines and an
 * optional deadline on every read.
 */
#ifndef VDMAIL_LINE_H
#define VDMAIL_LINE_H

#include <stddef.h>

enum { RBUF_SIZE = 8192 };

enum line_status {
	LINE_OK = 0,		/* a line, its LF removed */
	LINE_EOF = -1,		/* end of input before any byte of a line */
	LINE_TOOLONG = -2,	/* longer than the caller's limit: refused */
	LINE_ERR = -3,		/* read error; errno says which */
	LINE_TIMEOUT = -4,	/* no byte within the deadline */
	LINE_PARTIAL = -5	/* end of input inside a line */
};

struct rbuf {
	int fd;
	int timeout_ms;		/* -1: wait for ever */
	size_t pos, len;
	char buf[RBUF_SIZE];
};

void rbuf_init(struct rbuf *rb, int fd, int timeout_ms);
/* Fill the buffer when it is empty: >0 bytes buffered, 0 EOF, or a LINE_ status. */
int rbuf_fill(struct rbuf *rb);
/* Bytes that can be had without a read(2). */
size_t rbuf_pending(const struct rbuf *rb);
int rbuf_getc(struct rbuf *rb);
/*
 * Read one line of at most max bytes (its LF included) into line, which
 * must have room for max bytes; it is NUL-terminated without the LF and its
 * length (without LF) stored in *len.  A line that is too long is read to
 * its end and thrown away, so that the caller can go on with the next one.
 */
int rbuf_getline(struct rbuf *rb, char *line, size_t max, size_t *len);

#endif
