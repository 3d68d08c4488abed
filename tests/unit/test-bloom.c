/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of bloom filters (spec 9.5): SipHash, sd-bus bits, match rule, public API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <kdbus/bloom.h>

#include "core/bloom.h"

static void test_siphash_reference(void **state)
{
	kd_u8 key[16], msg[64];
	kd_u64 h;
	unsigned int i;

	for (i = 0; i < 16; i++)
		key[i] = (kd_u8)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (kd_u8)i;

	/* key 00..0f, msg 00..0e -> e5 45 be 49 61 ca 29 a1 (little-endian u64). */
	h = kd_siphash24(msg, 15, key);
	assert_int_equal(h, 0xa129ca6149be45e5ULL);
	/* Empty message -> 31 0e 0e dd 47 db 6f 72. */
	h = kd_siphash24(msg, 0, key);
	assert_int_equal(h, 0x726fdb47dd0e0e31ULL);
	/* Different lengths and keys give different hashes (length is mixed in). */
	assert_int_not_equal(kd_siphash24(msg, 8, key), kd_siphash24(msg, 7, key));
	key[15] ^= 1;
	assert_int_not_equal(kd_siphash24(msg, 15, key), 0xa129ca6149be45e5ULL);
}

struct vector {
	const char *s;
	unsigned int b512[8];
	unsigned int b64;
	unsigned int b2048[3];
};

/* The table of spec 9.5. */
static const struct vector vectors[] = {
	{ "message-type:signal", { 388, 108, 102, 383, 132, 138, 312, 309 }, 43, { 900, 620, 614 } },
	{ "interface:org.freedesktop.DBus", { 419, 384, 90, 1, 317, 249, 417, 474 }, 21,
	  { 1443, 896, 602 } },
	{ "member:NameOwnerChanged", { 289, 108, 414, 301, 234, 125, 244, 433 }, 13,
	  { 1313, 108, 1438 } },
	{ "path:/org/freedesktop/DBus", { 281, 246, 377, 301, 215, 27, 143, 494 }, 39,
	  { 1817, 246, 889 } },
	{ "arg0:org.example.Foo", { 8, 445, 243, 448, 56, 96, 363, 367 }, 32, { 8, 445, 755 } },
};

static void set_bits(kd_u64 *data, const unsigned int *bits, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		data[bits[i] >> 6] |= 1ULL << (bits[i] & 63);
}

static void check_bits(kd_u64 size, kd_u64 n_hash, const char *s, const unsigned int *bits)
{
	kd_u64 got[256] = { 0 }, want[256] = { 0 };

	assert_int_equal(kd_bloom_params_check(size, n_hash), 0);
	kd_bloom_add(got, size, n_hash, s, strlen(s));
	set_bits(want, bits, (unsigned int)n_hash);
	assert_memory_equal(got, want, sizeof(got));
}

static void test_vectors(void **state)
{
	unsigned int i;

	for (i = 0; i < KD_ARRAY_SIZE(vectors); i++) {
		check_bits(64, 8, vectors[i].s, vectors[i].b512);
		check_bits(8, 1, vectors[i].s, &vectors[i].b64);
		check_bits(256, 3, vectors[i].s, vectors[i].b2048);
	}
}

static void test_filter_words(void **state)
{
	static const kd_u64 want[8] = {
		0x2, 0x0000104004000000ULL, 0x410, 0x0200000000000000ULL,
		0x2120000000000000ULL, 0x8000000000000000ULL, 0x0000000a00000011ULL,
		0x0000000004000000ULL,
	};
	kd_u64 data[8] = { 0 };

	kd_bloom_add(data, 64, 8, "message-type:signal", 19);
	kd_bloom_add(data, 64, 8, "interface:org.freedesktop.DBus", 30);
	assert_memory_equal(data, want, sizeof(want));
}

static void test_params(void **state)
{
	assert_int_equal(kd_bloom_params_check(8, 1), 0);
	assert_int_equal(kd_bloom_params_check(64, 8), 0);
	assert_int_equal(kd_bloom_params_check(4096, 32), 0);
	assert_int_equal(kd_bloom_params_check(0, 1), -EINVAL);
	assert_int_equal(kd_bloom_params_check(12, 1), -EINVAL);
	assert_int_equal(kd_bloom_params_check(4104, 1), -EINVAL);
	assert_int_equal(kd_bloom_params_check(64, 0), -EINVAL);
	/* m = 64: one byte per index, 64 bytes of hash material. */
	assert_int_equal(kd_bloom_params_check(8, 64), 0);
	assert_int_equal(kd_bloom_params_check(8, 65), -EINVAL);
	/* m = 512: two bytes per index. */
	assert_int_equal(kd_bloom_params_check(64, 32), 0);
	assert_int_equal(kd_bloom_params_check(64, 33), -EINVAL);
}

/* All 8 keys are used when k * w = 64: the bits must differ from k = 31. */
static void test_all_keys(void **state)
{
	kd_u64 a[1] = { 0 };
	unsigned int n = 0, i;

	kd_bloom_add(a, 8, 64, "x", 1);
	for (i = 0; i < 64; i++)
		n += (a[0] >> i) & 1;
	/* 64 draws over 64 bits from 8 independent hashes: well spread. */
	assert_true(n > 20 && n <= 64);
}

static void test_match(void **state)
{
	kd_u64 filter[2] = { 0x0f, 0xf0 };
	kd_u64 masks[6] = {
		0x01, 0x10,    /* gen 0: subset */
		0x10, 0x00,    /* gen 1: not a subset */
		0x00, 0x00,    /* gen 2: matches everything */
	};

	assert_true(kd_bloom_match(filter, 0, 16, masks, 16));
	assert_true(kd_bloom_match(filter, 5, 16, masks, 16));
	assert_false(kd_bloom_match(filter, 1, 16, masks, 32));
	assert_true(kd_bloom_match(filter, 0, 16, masks, 32));
	/* Later generations than the mask has use the last mask. */
	assert_false(kd_bloom_match(filter, 7, 16, masks, 32));
	assert_true(kd_bloom_match(filter, 2, 16, masks, 48));
	assert_true(kd_bloom_match(filter, 99, 16, masks, 48));
	/* A partial trailing mask is ignored: gen 1 falls back to mask 0. */
	assert_true(kd_bloom_match(filter, 1, 16, masks, 31));
	assert_false(kd_bloom_match(filter, 0, 16, masks, 8));
	assert_false(kd_bloom_match(filter, 0, 0, masks, 8));
	/* A broadened filter still matches; a broadened mask may not. */
	filter[1] |= 0x100;
	assert_true(kd_bloom_match(filter, 0, 16, masks, 16));
	masks[1] |= 0x1000;
	assert_false(kd_bloom_match(filter, 0, 16, masks, 16));
}

/* A mask built from one term matches a filter holding it and more. */
static void test_filter_mask(void **state)
{
	kd_u64 filter[8] = { 0 }, mask[8] = { 0 };

	kd_bloom_add(filter, 64, 8, "message-type:signal", 19);
	kd_bloom_add(filter, 64, 8, "member:NameOwnerChanged", 23);
	kd_bloom_add(mask, 64, 8, "member:NameOwnerChanged", 23);
	assert_true(kd_bloom_match(filter, 0, 64, mask, 64));
	kd_bloom_add(mask, 64, 8, "arg0:org.example.Foo", 20);
	assert_false(kd_bloom_match(filter, 0, 64, mask, 64));
}

/* ---- public API ---- */

static void test_api_errors(void **state)
{
	uint64_t d[8] = { 0 };

	assert_int_equal(kdbus_bloom_validate(64, 8), 0);
	assert_int_equal(kdbus_bloom_validate(63, 8), -EINVAL);
	assert_int_equal(kdbus_bloom_validate(64, 0), -EINVAL);
	assert_int_equal(kdbus_bloom_add_string(d, 64, 8, NULL), -EINVAL);
	assert_int_equal(kdbus_bloom_add_string(NULL, 64, 8, "x"), -EINVAL);
	assert_int_equal(kdbus_bloom_add_string(d, 60, 8, "x"), -EINVAL);
	assert_int_equal(kdbus_bloom_add_string(d, 64, 33, "x"), -EINVAL);
	assert_int_equal(kdbus_bloom_add_data(d, 64, 8, NULL, 1), -EINVAL);
	assert_int_equal(kdbus_bloom_add_pair(d, 64, 8, NULL, "x"), -EINVAL);
	assert_int_equal(kdbus_bloom_add_pair(d, 64, 8, "k", NULL), -EINVAL);
	assert_int_equal(kdbus_bloom_add_pair(d, 64, 0, "k", "v"), -EINVAL);
	assert_int_equal(kdbus_bloom_add_prefixes(d, 64, 8, "k", NULL, '/'), -EINVAL);
	assert_int_equal(kdbus_bloom_add_prefixes(d, 0, 8, "k", "/a", '/'), -EINVAL);
	/* Nothing was written by any failing call. */
	assert_int_equal(d[0] | d[1] | d[2] | d[3] | d[4] | d[5] | d[6] | d[7], 0);
	assert_false(kdbus_bloom_match(NULL, 0, 64, d, 64));
	assert_false(kdbus_bloom_match(d, 0, 64, NULL, 64));
	assert_true(kdbus_bloom_match(d, 0, 64, d, 64));
	/* Empty data is a valid (empty) string. */
	assert_int_equal(kdbus_bloom_add_data(d, 64, 8, NULL, 0), 0);
}

static void test_api_vectors(void **state)
{
	uint64_t a[8] = { 0 }, b[8] = { 0 };
	unsigned int i;

	for (i = 0; i < KD_ARRAY_SIZE(vectors); i++) {
		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		assert_int_equal(kdbus_bloom_add_string(a, 64, 8, vectors[i].s), 0);
		set_bits(b, vectors[i].b512, 8);
		assert_memory_equal(a, b, sizeof(a));
	}

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(kdbus_bloom_add_pair(a, 64, 8, "member", "NameOwnerChanged"), 0);
	set_bits(b, vectors[2].b512, 8);
	assert_memory_equal(a, b, sizeof(a));

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(kdbus_bloom_add_pair(a, 64, 8, "arg0", "org.example.Foo"), 0);
	set_bits(b, vectors[4].b512, 8);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_api_long_pair(void **state)
{
	char value[1000], full[1100];
	uint64_t a[64] = { 0 }, b[64] = { 0 };

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = 0;
	snprintf(full, sizeof(full), "key:%s", value);
	assert_int_equal(kdbus_bloom_add_pair(a, 512, 3, "key", value), 0);
	assert_int_equal(kdbus_bloom_add_string(b, 512, 3, full), 0);
	assert_memory_equal(a, b, sizeof(a));
}

static void add_all(uint64_t *d, const char *const *s)
{
	for (; *s; s++)
		assert_int_equal(kdbus_bloom_add_string(d, 64, 8, *s), 0);
}

static void test_api_prefixes(void **state)
{
	static const char *const path[] = {
		"path-slash-prefix:/org/freedesktop/DBus", "path-slash-prefix:/org/freedesktop/",
		"path-slash-prefix:/org/freedesktop", "path-slash-prefix:/org/",
		"path-slash-prefix:/org", "path-slash-prefix:/", NULL,
	};
	static const char *const dotted[] = {
		"arg0-dot-prefix:org.example.Foo", "arg0-dot-prefix:org.example.",
		"arg0-dot-prefix:org.example", "arg0-dot-prefix:org.", "arg0-dot-prefix:org", NULL,
	};
	static const char *const plain[] = { "k:abc", NULL };
	uint64_t a[8] = { 0 }, b[8] = { 0 }, m[8] = { 0 };

	assert_int_equal(kdbus_bloom_add_prefixes(a, 64, 8, "path-slash-prefix",
						  "/org/freedesktop/DBus", '/'), 0);
	add_all(b, path);
	assert_memory_equal(a, b, sizeof(a));
	/* A namespace subscriber's single term is in the sender's expansion. */
	assert_int_equal(kdbus_bloom_add_pair(m, 64, 8, "path-slash-prefix", "/org/freedesktop"), 0);
	assert_true(kdbus_bloom_match(a, 0, 64, m, 64));
	/* One string fewer gives a different filter: every prefix counts. */
	memset(b, 0, sizeof(b));
	add_all(b, path + 1);
	assert_memory_not_equal(a, b, sizeof(a));

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(kdbus_bloom_add_prefixes(a, 64, 8, "arg0-dot-prefix", "org.example.Foo",
						  '.'), 0);
	add_all(b, dotted);
	assert_memory_equal(a, b, sizeof(a));

	/* No separator: just the pair. */
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(kdbus_bloom_add_prefixes(a, 64, 8, "k", "abc", '/'), 0);
	add_all(b, plain);
	assert_memory_equal(a, b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_reference),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_filter_words),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_filter_mask),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_api_vectors),
		cmocka_unit_test(test_api_long_pair),
		cmocka_unit_test(test_api_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
