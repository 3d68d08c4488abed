/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file bloom.h
 * @brief Build kdbus bloom filters and masks without writing hashes.
 *
 * A kdbus bus carries bloom parameters (KDBUS_ITEM_BLOOM_PARAMETER: size in
 * bytes and n_hash). A broadcast signal carries a filter of that size
 * (KDBUS_ITEM_BLOOM_FILTER) holding the strings that describe it; a match rule
 * carries a mask (KDBUS_ITEM_BLOOM_MASK) holding the strings it requires. The
 * bus delivers the signal if every bit of the mask is set in the filter.
 *
 * Strings are hashed exactly as sd-bus does (SipHash-2-4 with eight fixed
 * keys), so filters built here interoperate with every sd-bus client. The
 * conventional strings are "<key>:<value>" pairs: "message-type:signal",
 * "interface:<iface>", "member:<member>", "path:<path>",
 * "path-slash-prefix:<prefix>", "arg<i>:<string>", "arg<i>-dot-prefix:...",
 * "arg<i>-slash-prefix:...", "arg<i>-has:<element>".
 *
 * All buffers belong to the caller; nothing here allocates memory that
 * outlives the call. Functions return 0 or a negative errno.
 */
#ifndef KDBUS_BLOOM_H
#define KDBUS_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KDBUS_EXPORT
/** Marks a symbol as part of the libkdbus ABI (the library builds with hidden visibility). */
#define KDBUS_EXPORT __attribute__((visibility("default")))
#endif

/**
 * Check bloom parameters.
 * @param size filter size in bytes: a multiple of 8, from 8 to 4096
 * @param n_hash number of bits set per string: 1 or more, at most what the
 *        64 bytes of hash material allow (64 / bytes per bit index)
 * @return 0 if usable, -EINVAL otherwise
 */
KDBUS_EXPORT int kdbus_bloom_validate(size_t size, unsigned int n_hash);

/**
 * Add raw bytes to a filter or mask.
 * @param data the filter or mask, size bytes, 8-byte aligned; bits are ORed in
 * @param size bloom size of the bus in bytes
 * @param n_hash bloom n_hash of the bus
 * @param bytes the bytes to hash (no terminating NUL is added)
 * @param len number of bytes
 * @return 0, or -EINVAL for bad parameters or a NULL pointer
 */
KDBUS_EXPORT int kdbus_bloom_add_data(uint64_t *data, size_t size, unsigned int n_hash,
				      const void *bytes, size_t len);

/**
 * Add a NUL-terminated string (without its NUL) to a filter or mask.
 * @param data the filter or mask, size bytes, 8-byte aligned
 * @param size bloom size of the bus in bytes
 * @param n_hash bloom n_hash of the bus
 * @param str the string, e.g. "member:NameOwnerChanged"
 * @return 0, or -EINVAL for bad parameters or a NULL pointer
 */
KDBUS_EXPORT int kdbus_bloom_add_string(uint64_t *data, size_t size, unsigned int n_hash,
					const char *str);

/**
 * Add the string "<key>:<value>" to a filter or mask.
 * @param data the filter or mask, size bytes, 8-byte aligned
 * @param size bloom size of the bus in bytes
 * @param n_hash bloom n_hash of the bus
 * @param key e.g. "member", "arg0", "path-slash-prefix"
 * @param value e.g. "Foo"
 * @return 0, -EINVAL for bad parameters or a NULL pointer, -ENOMEM
 */
KDBUS_EXPORT int kdbus_bloom_add_pair(uint64_t *data, size_t size, unsigned int n_hash,
				      const char *key, const char *value);

/**
 * Add "<key>:<value>" and every prefix of value cut at sep, the way signal
 * senders describe paths and dotted arguments. For key "path-slash-prefix",
 * value "/org/freedesktop/DBus" and sep '/', the strings added are the pairs
 * with "/org/freedesktop/DBus", "/org/freedesktop/", "/org/freedesktop",
 * "/org/", "/org" and "/". A subscriber matching a namespace adds only the
 * single pair (kdbus_bloom_add_pair()) to its mask.
 * @param data the filter or mask, size bytes, 8-byte aligned
 * @param size bloom size of the bus in bytes
 * @param n_hash bloom n_hash of the bus
 * @param key e.g. "path-slash-prefix" or "arg0-dot-prefix"
 * @param value the full value
 * @param sep the separator, '/' or '.'
 * @return 0, -EINVAL for bad parameters or a NULL pointer, -ENOMEM
 */
KDBUS_EXPORT int kdbus_bloom_add_prefixes(uint64_t *data, size_t size, unsigned int n_hash,
					  const char *key, const char *value, char sep);

/**
 * The bus's match rule: does a filter match a mask item?
 * @param filter the filter data, size bytes
 * @param generation the filter's generation
 * @param size bloom size of the bus in bytes
 * @param masks one or more consecutive masks of size bytes (generations
 *        0, 1, ...); a filter of generation g uses mask min(g, n_masks - 1)
 * @param masks_size size of masks in bytes
 * @return true if every bit of the chosen mask is set in the filter; false
 *         otherwise or when size is not a positive multiple of 8 or masks
 *         holds less than one mask
 */
KDBUS_EXPORT bool kdbus_bloom_match(const uint64_t *filter, uint64_t generation, size_t size,
				    const uint64_t *masks, size_t masks_size);

#ifdef __cplusplus
}
#endif

#endif
