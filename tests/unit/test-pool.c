/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the pool slice allocator (spec 6.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pool.h"

static struct kd_pool *pool_new(kd_u64 size)
{
	struct kd_pool *p = kd_pool_new(size);

	assert_non_null(p);
	assert_int_equal(kd_pool_size(p), size);
	return p;
}

static kd_u64 alloc_ok(struct kd_pool *p, kd_u64 size, bool accounted)
{
	kd_u64 off = ~0ULL;

	assert_int_equal(kd_pool_alloc(p, size, accounted, &off), 0);
	assert_true(off % 8 == 0);
	assert_int_equal(kd_pool_slice_size(p, off), KD_ALIGN8(size));
	return off;
}

/* Drop both references of a slice the way RECV + FREE does. */
static void recv_free(struct kd_pool *p, kd_u64 off)
{
	assert_int_equal(kd_pool_publish(p, off), 0);
	kd_pool_release_kernel(p, off);
	assert_int_equal(kd_pool_release_user(p, off), 0);
}

static void test_new_free(void **state)
{
	struct kd_pool *p = pool_new(4096);

	assert_int_equal(kd_pool_used(p), 0);
	assert_int_equal(kd_pool_accounted(p), 0);
	assert_null(kd_pool_free(p));
	assert_null(kd_pool_free(NULL));
}

static void test_errnos(void **state)
{
	struct kd_pool *p = pool_new(4096);
	kd_u64 off = 1234;

	assert_int_equal(kd_pool_alloc(p, 0, false, &off), -EINVAL);
	assert_int_equal(kd_pool_alloc(p, 4097, false, &off), -EXFULL);
	assert_int_equal(kd_pool_alloc(p, ~0ULL, false, &off), -EXFULL);
	assert_int_equal(kd_pool_alloc(p, ~0ULL - 3, false, &off), -EXFULL);
	assert_int_equal(off, 1234);

	/* Nothing allocated at all: publish and FREE find nothing. */
	assert_int_equal(kd_pool_publish(p, 0), -ENXIO);
	assert_int_equal(kd_pool_release_user(p, 0), -ENXIO);
	assert_int_equal(kd_pool_release_user(p, 4096), -ENXIO);
	assert_int_equal(kd_pool_release_user(p, 4097), -ENXIO);
	assert_int_equal(kd_pool_slice_size(p, 0), 0);

	off = alloc_ok(p, 100, false);
	assert_int_equal(off, 0);
	/* Allocated but never published: FREE is refused, the slice stays. */
	assert_int_equal(kd_pool_release_user(p, off), -ENXIO);
	assert_int_equal(kd_pool_slice_size(p, off), 104);
	/* Not a slice start. */
	assert_int_equal(kd_pool_publish(p, 8), -ENXIO);
	assert_int_equal(kd_pool_release_user(p, 8), -ENXIO);
	assert_int_equal(kd_pool_publish(p, off), 0);
	assert_int_equal(kd_pool_release_user(p, 8), -ENXIO);
	assert_int_equal(kd_pool_release_user(p, off + 104), -ENXIO);
	kd_pool_free(p);
}

static void test_granularity(void **state)
{
	struct kd_pool *p = pool_new(4096);
	kd_u64 a, b, c;

	a = alloc_ok(p, 1, false);
	b = alloc_ok(p, 8, false);
	c = alloc_ok(p, 9, false);
	assert_int_equal(a, 0);
	assert_int_equal(b, 8);
	assert_int_equal(c, 16);
	assert_int_equal(kd_pool_slice_size(p, c), 16);
	assert_int_equal(kd_pool_used(p), 32);
	kd_pool_free(p);

	/* A ragged pool size is cut down to whole 8-byte units. */
	p = kd_pool_new(4099);
	assert_non_null(p);
	assert_int_equal(kd_pool_size(p), 4096);
	kd_pool_free(p);
}

static void test_exhaustion(void **state)
{
	struct kd_pool *p = pool_new(1024);
	kd_u64 offs[8], off;
	unsigned int i;

	for (i = 0; i < 8; i++)
		offs[i] = alloc_ok(p, 128, true);
	assert_int_equal(kd_pool_used(p), 1024);
	assert_int_equal(kd_pool_alloc(p, 1, true, &off), -EXFULL);

	/* Free space exists but is fragmented: two 128-byte holes, not one 256. */
	recv_free(p, offs[1]);
	recv_free(p, offs[5]);
	assert_int_equal(kd_pool_used(p), 768);
	assert_int_equal(kd_pool_alloc(p, 256, true, &off), -EXFULL);
	assert_int_equal(kd_pool_alloc(p, 129, true, &off), -EXFULL);
	off = alloc_ok(p, 128, true);
	assert_int_equal(off, offs[1]);
	kd_pool_free(p);
}

static void test_whole_pool(void **state)
{
	struct kd_pool *p = pool_new(4096);
	kd_u64 off;

	off = alloc_ok(p, 4096, false);
	assert_int_equal(off, 0);
	assert_int_equal(kd_pool_alloc(p, 8, false, &off), -EXFULL);
	recv_free(p, 0);
	assert_int_equal(kd_pool_used(p), 0);
	off = alloc_ok(p, 4089, false);
	assert_int_equal(off, 0);
	assert_int_equal(kd_pool_slice_size(p, 0), 4096);
	kd_pool_free(p);
}

static void test_best_fit(void **state)
{
	struct kd_pool *p = pool_new(4096);
	kd_u64 a, b, c, d, e, f, off;

	/* Holes of 256 (at a), 64 (at c) and 128 (at e), separated by busy slices. */
	a = alloc_ok(p, 256, false);
	b = alloc_ok(p, 8, false);
	c = alloc_ok(p, 64, false);
	d = alloc_ok(p, 8, false);
	e = alloc_ok(p, 128, false);
	f = alloc_ok(p, 8, false);
	recv_free(p, a);
	recv_free(p, c);
	recv_free(p, e);

	/* 121 bytes (128 aligned): the 128 hole is the smallest that fits, used whole. */
	off = alloc_ok(p, 121, false);
	assert_int_equal(off, e);
	/* 64 bytes: exact fit at c. */
	off = alloc_ok(p, 64, false);
	assert_int_equal(off, c);
	/* 16 bytes: only a (256) and the tail are free; a is smaller. Split. */
	off = alloc_ok(p, 16, false);
	assert_int_equal(off, a);
	off = alloc_ok(p, 16, false);
	assert_int_equal(off, a + 16);
	(void)b;
	(void)d;
	(void)f;
	kd_pool_free(p);
}

static void test_merge(void **state)
{
	struct kd_pool *p = pool_new(1024);
	kd_u64 a, b, c, d, off;

	a = alloc_ok(p, 256, false);
	b = alloc_ok(p, 256, false);
	c = alloc_ok(p, 256, false);
	d = alloc_ok(p, 256, false);

	/* Free a and c, then b: a+b+c must merge into one 768-byte slice. */
	recv_free(p, a);
	recv_free(p, c);
	assert_int_equal(kd_pool_alloc(p, 512, false, &off), -EXFULL);
	recv_free(p, b);
	off = alloc_ok(p, 768, false);
	assert_int_equal(off, 0);
	recv_free(p, off);

	/* d merges with the free block on its left: the whole pool again. */
	recv_free(p, d);
	assert_int_equal(kd_pool_used(p), 0);
	off = alloc_ok(p, 1024, false);
	assert_int_equal(off, 0);
	kd_pool_free(p);
}

static void test_merge_right(void **state)
{
	struct kd_pool *p = pool_new(1024);
	kd_u64 a, b, c, off;

	a = alloc_ok(p, 256, false);
	b = alloc_ok(p, 256, false);
	c = alloc_ok(p, 256, false); /* tail 256 stays free after c */
	recv_free(p, c);             /* c merges with the tail: 512 free at 512 */
	off = alloc_ok(p, 512, false);
	assert_int_equal(off, c);
	recv_free(p, off);
	recv_free(p, b);             /* b merges right with [512, 1024) */
	off = alloc_ok(p, 768, false);
	assert_int_equal(off, b);
	(void)a;
	kd_pool_free(p);
}

static void test_double_free(void **state)
{
	struct kd_pool *p = pool_new(4096);
	kd_u64 a, b;

	a = alloc_ok(p, 64, false);
	b = alloc_ok(p, 64, false);
	recv_free(p, a);
	assert_int_equal(kd_pool_release_user(p, a), -ENXIO);
	/* The neighbour is not disturbed by the failed FREE. */
	assert_int_equal(kd_pool_slice_size(p, b), 64);
	assert_int_equal(kd_pool_used(p), 64);
	/* Releasing the kernel reference twice is harmless. */
	kd_pool_release_kernel(p, b);
	kd_pool_release_kernel(p, b);
	assert_int_equal(kd_pool_used(p), 0);
	assert_int_equal(kd_pool_release_user(p, b), -ENXIO);
	kd_pool_free(p);
}

static void test_kernel_held(void **state)
{
	struct kd_pool *p = pool_new(4096);
	kd_u64 a, off;

	/* PEEK: published while the kernel still holds it. */
	a = alloc_ok(p, 200, true);
	assert_int_equal(kd_pool_accounted(p), 200);
	assert_int_equal(kd_pool_publish(p, a), 0);
	assert_int_equal(kd_pool_publish(p, a), 0); /* a second PEEK */
	assert_int_equal(kd_pool_release_user(p, a), 0);
	/* Still busy: the kernel reference keeps it. */
	assert_int_equal(kd_pool_slice_size(p, a), 200);
	assert_int_equal(kd_pool_used(p), 200);
	assert_int_equal(kd_pool_accounted(p), 200);
	assert_int_equal(kd_pool_release_user(p, a), -ENXIO);
	/* Re-published (RECV after PEEK), then dequeued, then FREEd. */
	assert_int_equal(kd_pool_publish(p, a), 0);
	kd_pool_release_kernel(p, a);
	assert_int_equal(kd_pool_accounted(p), 0);
	assert_int_equal(kd_pool_used(p), 200);
	assert_int_equal(kd_pool_release_user(p, a), 0);
	assert_int_equal(kd_pool_used(p), 0);
	assert_int_equal(kd_pool_slice_size(p, a), 0);

	/* Kernel drops a never-published slice: freed at once, FREE then fails. */
	a = alloc_ok(p, 64, true);
	kd_pool_release_kernel(p, a);
	assert_int_equal(kd_pool_used(p), 0);
	assert_int_equal(kd_pool_release_user(p, a), -ENXIO);
	assert_int_equal(kd_pool_publish(p, a), -ENXIO);
	off = alloc_ok(p, 4096, false);
	assert_int_equal(off, 0);
	kd_pool_free(p);
}

static void test_accounting(void **state)
{
	struct kd_pool *p = pool_new(8192);
	kd_u64 a, b, c;

	a = alloc_ok(p, 100, true);   /* 104 accounted */
	b = alloc_ok(p, 1000, false); /* command reply: not accounted */
	c = alloc_ok(p, 17, true);    /* 24 accounted */
	assert_int_equal(kd_pool_accounted(p), 128);
	assert_int_equal(kd_pool_used(p), 1128);

	/* RECV of a: published, kernel ref dropped; no longer counted. */
	assert_int_equal(kd_pool_publish(p, a), 0);
	kd_pool_release_kernel(p, a);
	assert_int_equal(kd_pool_accounted(p), 24);
	assert_int_equal(kd_pool_used(p), 1128);

	/* Unaccounted reply returned to user and freed. */
	assert_int_equal(kd_pool_publish(p, b), 0);
	kd_pool_release_kernel(p, b);
	assert_int_equal(kd_pool_accounted(p), 24);
	assert_int_equal(kd_pool_release_user(p, b), 0);
	assert_int_equal(kd_pool_used(p), 128);

	/* Queue purge of c (never received). */
	kd_pool_release_kernel(p, c);
	assert_int_equal(kd_pool_accounted(p), 0);
	assert_int_equal(kd_pool_used(p), 104);
	assert_int_equal(kd_pool_release_user(p, a), 0);
	assert_int_equal(kd_pool_used(p), 0);
	kd_pool_free(p);
}

/* Tiny deterministic PRNG so the stress test is reproducible. */
static kd_u64 rng_next(kd_u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define N_LIVE 4000

static void test_stress(void **state)
{
	const kd_u64 size = 16 * 1024 * 1024;
	struct kd_pool *p = pool_new(size);
	static kd_u64 off[N_LIVE], len[N_LIVE];
	kd_u64 seed = 0x9e3779b97f4a7c15ULL, used = 0, o;
	unsigned int n = 0, i, j, round;
	int r;

	for (round = 0; round < 200000; round++) {
		bool do_alloc = n < N_LIVE && (n == 0 || rng_next(&seed) % 3 != 0);

		if (do_alloc) {
			kd_u64 want = 1 + rng_next(&seed) % 8192;

			r = kd_pool_alloc(p, want, true, &o);
			if (r == -EXFULL)
				continue;
			assert_int_equal(r, 0);
			assert_true(o % 8 == 0 && o + KD_ALIGN8(want) <= size);
			off[n] = o;
			len[n] = KD_ALIGN8(want);
			used += len[n];
			n++;
		} else {
			i = rng_next(&seed) % n;
			recv_free(p, off[i]);
			used -= len[i];
			off[i] = off[n - 1];
			len[i] = len[n - 1];
			n--;
		}
		assert_int_equal(kd_pool_used(p), used);
		assert_int_equal(kd_pool_accounted(p), used);
	}

	/* No two live slices overlap. */
	for (i = 1; i < n; i++) {
		kd_u64 ko = off[i], kl = len[i];

		for (j = i; j > 0 && off[j - 1] > ko; j--) {
			off[j] = off[j - 1];
			len[j] = len[j - 1];
		}
		off[j] = ko;
		len[j] = kl;
	}
	for (i = 1; i < n; i++)
		assert_true(off[i - 1] + len[i - 1] <= off[i]);

	/* Everything freed merges back into one slice. */
	for (i = 0; i < n; i++)
		recv_free(p, off[i]);
	assert_int_equal(kd_pool_used(p), 0);
	o = alloc_ok(p, size, false);
	assert_int_equal(o, 0);
	kd_pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_errnos),
		cmocka_unit_test(test_granularity),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_whole_pool),
		cmocka_unit_test(test_best_fit),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_right),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_kernel_held),
		cmocka_unit_test(test_accounting),
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
