/*
 * logfmt - key=value log lines.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "logfmt.h"

static void
put(struct logline *l, const char *s, size_t n)
{
	if (l->n + n > sizeof l->b - 2)
		n = sizeof l->b - 2 - l->n;
	memcpy(l->b + l->n, s, n);
	l->n += n;
}

void
log_start(struct logline *l, const char *event)
{
	l->n = 0;
	put(l, "event=", 6);
	put(l, event, strlen(event));
}

void
log_str(struct logline *l, const char *key, const char *v)
{
	int quote = *v == '\0';

	for (const char *p = v; *p != '\0' && !quote; p++)
		quote = (unsigned char)*p <= ' ' || *p == '"' || *p == '=' ||
		    *p == '\\' || (unsigned char)*p == 0x7f;
	put(l, " ", 1);
	put(l, key, strlen(key));
	put(l, "=", 1);
	if (!quote) {
		put(l, v, strlen(v));
		return;
	}
	put(l, "\"", 1);
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c < ' ' || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			put(l, esc, 4);
		} else {
			put(l, v, 1);
		}
	}
	put(l, "\"", 1);
}

void
log_num(struct logline *l, const char *key, long long v)
{
	char num[32];

	snprintf(num, sizeof num, "%lld", v);
	log_str(l, key, num);
}

void
log_end(struct logline *l, int fd)
{
	l->b[l->n++] = '\n';
	if (write(fd, l->b, l->n) < 0) {
		/* the log is gone: nothing better to do */
	}
}
