/*
 * line - a buffered reader with bounded lines and deadlines.
 */
#include <errno.h>

#include "line.h"
#include "xio.h"

void
rbuf_init(struct rbuf *rb, int fd, int timeout_ms)
{
	rb->fd = fd;
	rb->timeout_ms = timeout_ms;
	rb->pos = rb->len = 0;
}

size_t
rbuf_pending(const struct rbuf *rb)
{
	return rb->len - rb->pos;
}

int
rbuf_fill(struct rbuf *rb)
{
	ssize_t r;

	if (rb->pos < rb->len)
		return (int)(rb->len - rb->pos);
	rb->pos = rb->len = 0;
	if (rb->timeout_ms >= 0) {
		int w = wait_readable(rb->fd, rb->timeout_ms);

		if (w == 0)
			return LINE_TIMEOUT;
		if (w < 0)
			return LINE_ERR;
	}
	r = xread(rb->fd, rb->buf, sizeof rb->buf);
	if (r < 0)
		return LINE_ERR;
	rb->len = (size_t)r;
	return (int)r;
}

int
rbuf_getc(struct rbuf *rb)
{
	int r = rbuf_fill(rb);

	if (r == 0)
		return LINE_EOF;
	if (r < 0)
		return r;
	return (unsigned char)rb->buf[rb->pos++];
}

int
rbuf_getline(struct rbuf *rb, char *line, size_t max, size_t *len)
{
	size_t n = 0;
	int toolong = 0, any = 0;

	for (;;) {
		int r = rbuf_fill(rb);
		size_t i;

		if (r == 0) {
			*len = n;
			line[n < max ? n : max - 1] = '\0';
			if (toolong)
				return LINE_TOOLONG;	/* never a cut line */
			return any ? LINE_PARTIAL : LINE_EOF;
		}
		if (r < 0)
			return r;
		any = 1;
		for (i = rb->pos; i < rb->len; i++) {
			char c = rb->buf[i];

			if (c == '\n') {
				rb->pos = i + 1;
				if (toolong)
					return LINE_TOOLONG;
				line[n] = '\0';
				*len = n;
				return LINE_OK;
			}
			if (toolong)
				continue;
			if (n + 2 > max) {	/* room for this byte and the LF */
				toolong = 1;
				continue;
			}
			line[n++] = c;
		}
		rb->pos = rb->len;
	}
}
