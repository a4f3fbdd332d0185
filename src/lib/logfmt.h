/*
 * logfmt - one "key=value ..." line per event, written with one write(2).
 */
#ifndef VDMAIL_LOGFMT_H
#define VDMAIL_LOGFMT_H

#include <stddef.h>

enum { LOG_LINE_MAX = 2048 };

struct logline {
	char b[LOG_LINE_MAX];
	size_t n;
};

void log_start(struct logline *l, const char *event);
/* key=value; values with space, quote, '=' or control bytes are quoted. */
void log_str(struct logline *l, const char *key, const char *value);
void log_num(struct logline *l, const char *key, long long value);
/* End the line and write it to fd. */
void log_end(struct logline *l, int fd);

#endif
