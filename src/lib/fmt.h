/*
 * fmt - snprintf for text that may be cut on purpose (reply texts,
 * reasons): always NUL-terminated; tells whether it was cut.
 */
#ifndef VDMAIL_FMT_H
#define VDMAIL_FMT_H

#include <stddef.h>

/* 0 when the whole text fit, 1 when it was cut to size - 1 bytes. */
int fmt(char *buf, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
