/*
 * fuzz-addr - libFuzzer harness for the SMTP path parser and the
 * address checks that stand between the network and the queue.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[600], out[ADDR_BYTES_MAX + 1];
	const char *rest;
	int routed;

	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (addr_parse_path(in, out, sizeof out, &rest, &routed) == ADDR_OK) {
		/* what parses is clean, bounded, and ends inside the input */
		if (!is_clean(out, strlen(out)) || strlen(out) > SMTP_PATH_MAX ||
		    rest < in || rest > in + size)
			abort();
		(void)addr_has_routing(out);
		(void)addr_domain(out);
	}
	(void)domain_valid(in);
	return 0;
}
