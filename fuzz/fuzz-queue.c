/*
 * fuzz-queue - libFuzzer harness for the queue file header parser, which
 * queue-run, queue-list and queue-check trust to find the envelope.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_header h;
	char again[QUEUE_HEADER_MAX];

	if (queue_header_parse((const char *)data, size, &h) == 0) {
		/* a parsed header lies inside the input and formats back */
		if (h.length > size || h.length > QUEUE_HEADER_MAX)
			abort();
		if (queue_header_format(again, &h) != h.length)
			abort();
	}
	return 0;
}
