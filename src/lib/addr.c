/*
 * addr - envelope addresses.
 */
#include <ctype.h>
#include <string.h>

#include "addr.h"

int
is_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

int
domain_valid(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > DOMAIN_BYTES_MAX)
		return 0;
	if (d[0] == '[') {
		if (n < 3 || d[n - 1] != ']')
			return 0;
		for (size_t i = 1; i + 1 < n; i++) {
			unsigned char c = (unsigned char)d[i];

			if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']' ||
			    c == '\\')
				return 0;
		}
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			/* a label neither empty nor ending in '-' */
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && (c != '-' || label == 0))
			return 0;	/* nor starting with '-' */
		if (++label > LABEL_BYTES_MAX)
			return 0;
	}
	return label > 0 && d[n - 1] != '-';
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : NULL;
}

int
addr_has_routing(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);

	for (size_t i = 0; i < n; i++)
		if (addr[i] == '%' || addr[i] == '!' || addr[i] == '@')
			return 1;
	return 0;
}

/* RFC 5321 specials that may not stand unquoted in a local part. */
static int
atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("<>()[]\\,;:\"", c) == NULL;
}

/* Skip a source route "@a,@b:" at *p; 0 when there is none, -1 when malformed. */
static int
skip_route(const char **pp)
{
	const char *p = *pp;

	if (*p != '@')
		return 0;
	for (;;) {
		if (*p != '@')
			return -1;
		p++;
		if (!isalnum((unsigned char)*p) && *p != '[')
			return -1;
		while (*p != '\0' && *p != ',' && *p != ':' && *p != '>')
			p++;
		if (*p == ':') {
			*pp = p + 1;
			return 1;
		}
		if (*p != ',')
			return -1;
		p++;
	}
}

int
addr_parse_path(const char *s, char *out, size_t size, const char **rest,
    int *routed)
{
	const char *p = s, *start;
	size_t n = 0, at = (size_t)-1, special = (size_t)-1;
	int bracket = 0, r;

	*routed = 0;
	while (*p == ' ')
		p++;
	start = p;
	if (*p == '<') {
		bracket = 1;
		p++;
	}
	r = skip_route(&p);
	if (r < 0)
		return ADDR_SYNTAX;
	*routed = r;
	if (*p == '"') {
		/* quoted local part: keep its text, drop the quoting */
		for (p++;; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '\0')
				return ADDR_SYNTAX;
			if (c == '"')
				break;
			if (c == '\\') {
				c = (unsigned char)*++p;
				if (c == '\0')
					return ADDR_SYNTAX;
			}
			if (c < 0x20 || c == 0x7f)
				return ADDR_BADCHAR;
			if (n + 1 >= size)
				return ADDR_TOOLONG;
			out[n++] = (char)c;
		}
		p++;
		if (*p != '@')
			return ADDR_SYNTAX;
	}
	/* unquoted local part and domain; [ ] : belong to a domain literal */
	for (;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\0' || c == '>' || c == ' ')
			break;
		if (c < 0x20 || c == 0x7f)
			return ADDR_BADCHAR;
		if (!atom_char(c) && c != '[' && c != ']' && c != ':')
			return ADDR_SYNTAX;
		if (n + 1 >= size)
			return ADDR_TOOLONG;
		if (c == '@')
			at = n;
		else if (!atom_char(c) && special == (size_t)-1)
			special = n;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (bracket) {
		if (*p != '>')
			return ADDR_SYNTAX;
		p++;
	} else if (n == 0) {
		return ADDR_SYNTAX;	/* "<>" needs its brackets */
	}
	if ((size_t)(p - start) > SMTP_PATH_MAX)
		return ADDR_TOOLONG;
	if (special != (size_t)-1 && (at == (size_t)-1 || special < at))
		return ADDR_SYNTAX;
	if (at != (size_t)-1 && (at == 0 || !domain_valid(out + at + 1)))
		return ADDR_SYNTAX;
	*rest = p;
	return ADDR_OK;
}

static int
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

int
addr_quote(char *out, size_t size, const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t ll = at != NULL ? (size_t)(at - addr) : strlen(addr), n = 0;
	int dotatom = ll > 0 && addr[0] != '.' && addr[ll - 1] != '.';

	for (size_t i = 0; dotatom && i < ll; i++)
		if (!(atext((unsigned char)addr[i]) ||
		    (addr[i] == '.' && addr[i + 1] != '.')))
			dotatom = 0;
	if (ll == 0 || dotatom) {
		if (strlen(addr) + 1 > size)
			return -1;
		memcpy(out, addr, strlen(addr) + 1);
		return 0;
	}
	if (n + 1 >= size)
		return -1;
	out[n++] = '"';
	for (size_t i = 0; i < ll; i++) {
		if (addr[i] == '"' || addr[i] == '\\') {
			if (n + 1 >= size)
				return -1;
			out[n++] = '\\';
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = addr[i];
	}
	if (n + 1 + (at != NULL ? strlen(at) : 0) + 1 > size)
		return -1;
	out[n++] = '"';
	if (at != NULL) {
		memcpy(out + n, at, strlen(at));
		n += strlen(at);
	}
	out[n] = '\0';
	return 0;
}
