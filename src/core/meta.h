/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Metadata items (spec 9.7): one encoder for messages, CONN_INFO and
 * BUS_CREATOR_INFO, fed by whatever collected the facts (the broker from
 * the kernel's /proc and socket credentials, the module from the task).
 */
#ifndef KD_CORE_META_H
#define KD_CORE_META_H

#include "core/compat.h"

/* Collected metadata of a process/connection; mask says what is present. */
struct kd_meta {
	kd_u64 mask; /* KDBUS_ATTACH_* that were collected */
	struct kdbus_creds creds;
	struct kdbus_pids pids;
	kd_u64 *auxgroups;
	kd_u32 n_auxgroups;
	char *tid_comm;
	char *pid_comm;
	char *exe;
	char *cmdline;        /* NUL-separated strings */
	kd_u64 cmdline_size;  /* bytes including the final NUL */
	kd_u32 *caps;         /* last_cap followed by 4 sets */
	kd_u64 caps_size;     /* bytes */
	char *cgroup;
	char *seclabel;
	struct kdbus_audit audit;
	char *description;
};

/* An owned name for OWNED_NAME items. */
struct kd_meta_name {
	const char *name;
	kd_u64 flags;
};

/*
 * Size of the metadata items for mask (spec 9.7 order), each padded except
 * the last; names and ts are used if mask has NAMES / TIMESTAMP.
 */
kd_u64 kd_meta_size(const struct kd_meta *m, kd_u64 mask, const struct kd_meta_name *names,
		    unsigned int n_names, const struct kdbus_timestamp *ts);
/* Write them to dst (kd_meta_size() bytes, rounded up to 8, zeroed). */
void kd_meta_write(void *dst, const struct kd_meta *m, kd_u64 mask,
		   const struct kd_meta_name *names, unsigned int n_names,
		   const struct kdbus_timestamp *ts);
/* Free the strings and arrays of m (not m itself). */
void kd_meta_clear(struct kd_meta *m);

#endif
