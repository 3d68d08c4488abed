/* SPDX-License-Identifier: BSD-2-Clause */
/* Public bloom helpers (include/kdbus/bloom.h) over core/bloom. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kdbus/bloom.h>

#include "core/bloom.h"

/* Pairs up to this long are formatted on the stack. */
#define PAIR_STACK 256

KDBUS_EXPORT int kdbus_bloom_validate(size_t size, unsigned int n_hash)
{
	return kd_bloom_params_check(size, n_hash);
}

KDBUS_EXPORT int kdbus_bloom_add_data(uint64_t *data, size_t size, unsigned int n_hash,
				      const void *bytes, size_t len)
{
	int r;

	if (!data || (!bytes && len))
		return -EINVAL;
	r = kd_bloom_params_check(size, n_hash);
	if (r < 0)
		return r;
	kd_bloom_add(data, size, n_hash, bytes, len);
	return 0;
}

KDBUS_EXPORT int kdbus_bloom_add_string(uint64_t *data, size_t size, unsigned int n_hash,
					const char *str)
{
	if (!str)
		return -EINVAL;
	return kdbus_bloom_add_data(data, size, n_hash, str, strlen(str));
}

/*
 * Hash "key:value" and, with sep, its prefixes. Every string hashed is a
 * leading part of the formatted pair, so it is formatted once.
 */
static int bloom_add_pair_prefixes(uint64_t *data, size_t size, unsigned int n_hash,
				   const char *key, const char *value, bool prefixes, char sep)
{
	char stack[PAIR_STACK], *buf = stack;
	size_t klen, vlen, len;
	int r;

	if (!data || !key || !value)
		return -EINVAL;
	r = kd_bloom_params_check(size, n_hash);
	if (r < 0)
		return r;

	klen = strlen(key);
	vlen = strlen(value);
	if (klen + 1 + vlen > sizeof(stack)) {
		buf = malloc(klen + 1 + vlen);
		if (!buf)
			return -ENOMEM;
	}
	memcpy(buf, key, klen);
	buf[klen] = ':';
	memcpy(buf + klen + 1, value, vlen);
	kd_bloom_add(data, size, n_hash, buf, klen + 1 + vlen);

	/* Cut at the last separator: add "k:v/" then "k:v" and go on (spec 9.5). */
	len = vlen;
	while (prefixes) {
		const char *cut = NULL;
		size_t i;

		for (i = len; i > 0; i--) {
			if (value[i - 1] == sep) {
				cut = value + i - 1;
				break;
			}
		}
		if (!cut)
			break;
		len = (size_t)(cut - value);
		kd_bloom_add(data, size, n_hash, buf, klen + 1 + len + 1);
		if (len == 0)
			break;
		kd_bloom_add(data, size, n_hash, buf, klen + 1 + len);
	}

	if (buf != stack)
		free(buf);
	return 0;
}

KDBUS_EXPORT int kdbus_bloom_add_pair(uint64_t *data, size_t size, unsigned int n_hash,
				      const char *key, const char *value)
{
	return bloom_add_pair_prefixes(data, size, n_hash, key, value, false, 0);
}

KDBUS_EXPORT int kdbus_bloom_add_prefixes(uint64_t *data, size_t size, unsigned int n_hash,
					  const char *key, const char *value, char sep)
{
	return bloom_add_pair_prefixes(data, size, n_hash, key, value, true, sep);
}

KDBUS_EXPORT bool kdbus_bloom_match(const uint64_t *filter, uint64_t generation, size_t size,
				    const uint64_t *masks, size_t masks_size)
{
	if (!filter || !masks)
		return false;
	return kd_bloom_match(filter, generation, size, masks, masks_size);
}
