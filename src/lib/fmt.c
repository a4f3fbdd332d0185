/*
 * fmt - snprintf for text that may be cut on purpose.
 */
#include <stdarg.h>
#include <stdio.h>

#include "fmt.h"

int
fmt(char *buf, size_t size, const char *format, ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return 1;
	va_start(ap, format);
	n = vsnprintf(buf, size, format, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return 1;
	}
	return (size_t)n >= size;
}
