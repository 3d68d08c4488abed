/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the metadata item encoder (spec 9.7). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/meta.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* A fully collected kd_meta with recognisable values. */
static void meta_fill(struct kd_meta *m)
{
	static const char cmdline[] = "prog\0--flag\0arg";
	kd_u32 i;

	memset(m, 0, sizeof(*m));
	m->mask = _KDBUS_ATTACH_ALL;
	m->creds = (struct kdbus_creds){ 1, 2, 3, 4, 5, 6, 7, 8 };
	m->pids = (struct kdbus_pids){ 100, 101, 1 };
	m->n_auxgroups = 3;
	m->auxgroups = malloc(3 * sizeof(kd_u64));
	assert_non_null(m->auxgroups);
	m->auxgroups[0] = 10;
	m->auxgroups[1] = 20;
	m->auxgroups[2] = 30;
	m->tid_comm = dup_str("thread");
	m->pid_comm = dup_str("proc");
	m->exe = dup_str("/usr/bin/prog");
	m->cmdline_size = sizeof(cmdline);
	m->cmdline = malloc(sizeof(cmdline));
	assert_non_null(m->cmdline);
	memcpy(m->cmdline, cmdline, sizeof(cmdline));
	m->caps_size = 4 + 4 * 2 * 4;
	m->caps = malloc(m->caps_size);
	assert_non_null(m->caps);
	m->caps[0] = 40;
	for (i = 1; i < 9; i++)
		m->caps[i] = 0x1000 + i;
	m->cgroup = dup_str("/user.slice");
	m->seclabel = dup_str("unconfined");
	m->audit = (struct kdbus_audit){ .sessionid = 7, .loginuid = 1000 };
	m->description = dup_str("conn-desc");
}

static const struct kd_meta_name names[] = {
	{ "org.example.A", 1 },
	{ "org.example.Bee", 4 },
};

static const struct kdbus_timestamp ts = { 42, 1000, 2000 };

/* Walk items written to buf (size bytes) and return them in order. */
static unsigned int walk(const kd_u8 *buf, kd_u64 size, const struct kdbus_item **out,
			 unsigned int max)
{
	kd_u64 pos = 0;
	unsigned int n = 0;

	while (pos < size) {
		const struct kdbus_item *it = (const void *)(buf + pos);

		assert_true(pos % 8 == 0);
		assert_true(it->size >= 16);
		assert_true(pos + it->size <= size);
		assert_true(n < max);
		out[n++] = it;
		pos += KD_ALIGN8(it->size);
	}
	/* The last item ends exactly at size: no trailing padding counted. */
	assert_int_equal(pos, KD_ALIGN8(size));
	return n;
}

static void test_all(void **state)
{
	static const kd_u64 order[] = {
		KDBUS_ITEM_CREDS, KDBUS_ITEM_PIDS, KDBUS_ITEM_AUXGROUPS, KDBUS_ITEM_TID_COMM,
		KDBUS_ITEM_PID_COMM, KDBUS_ITEM_EXE, KDBUS_ITEM_CMDLINE, KDBUS_ITEM_CGROUP,
		KDBUS_ITEM_CAPS, KDBUS_ITEM_SECLABEL, KDBUS_ITEM_AUDIT, KDBUS_ITEM_OWNED_NAME,
		KDBUS_ITEM_OWNED_NAME, KDBUS_ITEM_CONN_DESCRIPTION, KDBUS_ITEM_TIMESTAMP,
	};
	static const kd_u64 sizes[] = {
		16 + 64, 16 + 24, 16 + 24, 16 + 7, 16 + 5, 16 + 14, 16 + 16, 16 + 12,
		16 + 36, 16 + 11, 16 + 8, 16 + 8 + 14, 16 + 8 + 16, 16 + 10, 16 + 24,
	};
	struct kd_meta m;
	const struct kdbus_item *it[32];
	kd_u8 *buf;
	kd_u64 size, expect = 0;
	unsigned int n, i;

	meta_fill(&m);
	for (i = 0; i < KD_ARRAY_SIZE(sizes); i++)
		expect = KD_ALIGN8(expect) + sizes[i];
	size = kd_meta_size(&m, _KDBUS_ATTACH_ALL, names, 2, &ts);
	assert_int_equal(size, expect);

	buf = malloc(KD_ALIGN8(size));
	assert_non_null(buf);
	memset(buf, 0xaa, KD_ALIGN8(size));
	kd_meta_write(buf, &m, _KDBUS_ATTACH_ALL, names, 2, &ts);
	n = walk(buf, size, it, 32);
	assert_int_equal(n, KD_ARRAY_SIZE(order));
	for (i = 0; i < n; i++) {
		assert_int_equal(it[i]->type, order[i]);
		assert_int_equal(it[i]->size, sizes[i]);
	}

	/* Padding bytes after each item are zero. */
	for (i = 0; i < n; i++) {
		const kd_u8 *p = (const kd_u8 *)it[i] + it[i]->size;
		const kd_u8 *end = (const kd_u8 *)it[i] + KD_ALIGN8(it[i]->size);

		for (; p < end; p++)
			assert_int_equal(*p, 0);
	}

	/* Contents. */
	assert_memory_equal(&it[0]->creds, &m.creds, sizeof(m.creds));
	assert_int_equal(it[1]->pids.pid, 100);
	assert_int_equal(it[1]->pids.tid, 101);
	assert_int_equal(it[1]->pids.ppid, 1);
	assert_int_equal(it[2]->data64[0], 10);
	assert_int_equal(it[2]->data64[2], 30);
	assert_string_equal(it[3]->str, "thread");
	assert_string_equal(it[4]->str, "proc");
	assert_string_equal(it[5]->str, "/usr/bin/prog");
	assert_memory_equal(it[6]->str, "prog\0--flag\0arg", 16);
	assert_string_equal(it[7]->str, "/user.slice");
	assert_int_equal(it[8]->caps.last_cap, 40);
	assert_int_equal(it[8]->caps.caps[0], 0x1001);
	assert_int_equal(it[8]->caps.caps[7], 0x1008);
	assert_string_equal(it[9]->str, "unconfined");
	assert_int_equal(it[10]->audit.sessionid, 7);
	assert_int_equal(it[10]->audit.loginuid, 1000);
	assert_int_equal(it[11]->name.flags, 1);
	assert_string_equal(it[11]->name.name, "org.example.A");
	assert_int_equal(it[12]->name.flags, 4);
	assert_string_equal(it[12]->name.name, "org.example.Bee");
	assert_string_equal(it[13]->str, "conn-desc");
	assert_int_equal(it[14]->timestamp.seqnum, 42);
	assert_int_equal(it[14]->timestamp.monotonic_ns, 1000);
	assert_int_equal(it[14]->timestamp.realtime_ns, 2000);

	free(buf);
	kd_meta_clear(&m);
}

/* Only items both requested and collected appear. */
static void test_mask(void **state)
{
	struct kd_meta m;
	const struct kdbus_item *it[32];
	kd_u8 buf[512];
	kd_u64 size;
	unsigned int n;

	meta_fill(&m);
	/* SECLABEL requested but not collected; EXE collected but not requested. */
	m.mask &= ~(kd_u64)KDBUS_ATTACH_SECLABEL;
	size = kd_meta_size(&m, KDBUS_ATTACH_PID_COMM | KDBUS_ATTACH_SECLABEL |
				    KDBUS_ATTACH_CREDS, names, 2, &ts);
	assert_int_equal(size, 80 + 16 + 5);
	kd_meta_write(buf, &m, KDBUS_ATTACH_PID_COMM | KDBUS_ATTACH_SECLABEL |
			       KDBUS_ATTACH_CREDS, names, 2, &ts);
	n = walk(buf, size, it, 32);
	assert_int_equal(n, 2);
	assert_int_equal(it[0]->type, KDBUS_ITEM_CREDS);
	assert_int_equal(it[1]->type, KDBUS_ITEM_PID_COMM);
	/* Tail padding of the last item is zeroed too. */
	assert_int_equal(buf[size], 0);
	assert_int_equal(buf[KD_ALIGN8(size) - 1], 0);

	/* Nothing requested: nothing written. */
	assert_int_equal(kd_meta_size(&m, 0, names, 2, &ts), 0);
	kd_meta_clear(&m);
	/* Cleared: nothing collected, nothing to free twice. */
	assert_int_equal(m.mask, 0);
	assert_null(m.exe);
	kd_meta_clear(&m);
	kd_meta_clear(NULL);
}

/* Kernel notifications: no process metadata at all, timestamp only. */
static void test_timestamp_only(void **state)
{
	const struct kdbus_item *it[4];
	kd_u8 buf[64];
	kd_u64 size;

	size = kd_meta_size(NULL, _KDBUS_ATTACH_ALL, NULL, 0, &ts);
	assert_int_equal(size, 40);
	kd_meta_write(buf, NULL, _KDBUS_ATTACH_ALL, NULL, 0, &ts);
	assert_int_equal(walk(buf, size, it, 4), 1);
	assert_int_equal(it[0]->type, KDBUS_ITEM_TIMESTAMP);
	assert_int_equal(it[0]->timestamp.seqnum, 42);
	/* TIMESTAMP not requested, or no timestamp given. */
	assert_int_equal(kd_meta_size(NULL, KDBUS_ATTACH_CREDS, NULL, 0, &ts), 0);
	assert_int_equal(kd_meta_size(NULL, _KDBUS_ATTACH_ALL, NULL, 0, NULL), 0);
}

/* Names are per-connection facts: they do not depend on m->mask. */
static void test_names(void **state)
{
	struct kd_meta m;
	const struct kdbus_item *it[4];
	kd_u8 buf[128];
	kd_u64 size;

	memset(&m, 0, sizeof(m));
	size = kd_meta_size(&m, KDBUS_ATTACH_NAMES, names, 2, NULL);
	/* 38 padded to 40, then 40 unpadded. */
	assert_int_equal(size, 40 + 40);
	kd_meta_write(buf, &m, KDBUS_ATTACH_NAMES, names, 2, NULL);
	assert_int_equal(walk(buf, size, it, 4), 2);
	assert_int_equal(it[0]->size, 38);
	assert_int_equal(it[1]->size, 40);
	assert_int_equal(buf[38], 0);
	assert_int_equal(buf[39], 0);
	/* No names: no items. */
	assert_int_equal(kd_meta_size(&m, KDBUS_ATTACH_NAMES, names, 0, NULL), 0);
	assert_int_equal(kd_meta_size(&m, KDBUS_ATTACH_CREDS, names, 2, NULL), 0);
}

/* An empty auxgroups list is still an item; an empty string is 17 bytes. */
static void test_empty(void **state)
{
	struct kd_meta m;

	memset(&m, 0, sizeof(m));
	m.mask = KDBUS_ATTACH_AUXGROUPS | KDBUS_ATTACH_TID_COMM | KDBUS_ATTACH_EXE;
	assert_int_equal(kd_meta_size(&m, KDBUS_ATTACH_AUXGROUPS, NULL, 0, NULL), 16);
	/* Collected bit without a string: omitted rather than crashing. */
	assert_int_equal(kd_meta_size(&m, KDBUS_ATTACH_EXE, NULL, 0, NULL), 0);
	m.tid_comm = dup_str("");
	assert_int_equal(kd_meta_size(&m, KDBUS_ATTACH_TID_COMM, NULL, 0, NULL), 17);
	assert_int_equal(kd_meta_size(&m, KDBUS_ATTACH_TID_COMM | KDBUS_ATTACH_AUXGROUPS, NULL,
				      0, NULL), 16 + 17);
	kd_meta_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_timestamp_only),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
