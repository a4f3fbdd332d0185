/*
 * msgid - message identities.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "msgid.h"

const char msgid_alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
#define b32 msgid_alphabet

int
msgid_new(char *buf)
{
	unsigned char r[10];
	size_t got = 0;
	uint64_t bits = 0;
	int nbits = 0, n, k = 0;

	while (got < sizeof r) {
		ssize_t g = getrandom(r + got, sizeof r - got, 0);

		if (g < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)g;
	}
	n = snprintf(buf, MSGID_BYTES_MAX, "%lld.", (long long)time(NULL));
	if (n < 0 || n + MSGID_RANDOM >= MSGID_BYTES_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	for (size_t i = 0; i < sizeof r; i++) {
		bits = (bits << 8) | r[i];
		nbits += 8;
		while (nbits >= 5) {
			nbits -= 5;
			buf[n + k++] = b32[(bits >> nbits) & 31];
		}
	}
	buf[n + k] = '\0';
	return 0;
}

int
msgid_valid(const char *s)
{
	size_t digits = 0, n;
	const char *dot;

	while (s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (digits == 0 || digits > 12 || s[digits] != '.')
		return 0;
	dot = s + digits;
	n = strlen(dot + 1);
	if (n != MSGID_RANDOM)
		return 0;
	for (size_t i = 1; i <= n; i++)
		if (strchr(b32, dot[i]) == NULL || dot[i] == '\0')
			return 0;
	return 1;
}

char
msgid_bucket(const char *id)
{
	size_t n = strlen(id);

	return n > 0 ? id[n - 1] : '_';
}
