/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pool slice allocator (spec 6.2). Pure bookkeeping: the memory is the
 * caller's (a memfd mapping in the broker, shmem pages in the module). Best
 * fit, 8-byte granularity, kernel and user references per slice.
 */
#ifndef KD_CORE_POOL_H
#define KD_CORE_POOL_H

#include "core/compat.h"

struct kd_pool;

/* A pool of size bytes; NULL on allocation failure. */
struct kd_pool *kd_pool_new(kd_u64 size);
/* Destroy; accepts NULL; returns NULL. */
struct kd_pool *kd_pool_free(struct kd_pool *p);

/*
 * Allocate ALIGN8(size) bytes (size > 0) with a kernel reference.
 * accounted: counts towards kd_pool_accounted() while the kernel holds it.
 * Returns 0 and *off, or -EXFULL (-ENOMEM if bookkeeping fails).
 */
int kd_pool_alloc(struct kd_pool *p, kd_u64 size, bool accounted, kd_u64 *off);
/* Size of the slice at off (0 if none). */
kd_u64 kd_pool_slice_size(const struct kd_pool *p, kd_u64 off);
/* Give userspace a reference (RECV, PEEK, command replies). -ENXIO if no slice. */
int kd_pool_publish(struct kd_pool *p, kd_u64 off);
/* Drop the kernel reference (message dequeued or destroyed). */
void kd_pool_release_kernel(struct kd_pool *p, kd_u64 off);
/* KDBUS_CMD_FREE: drop the user reference; -ENXIO unless off is a published slice. */
int kd_pool_release_user(struct kd_pool *p, kd_u64 off);

kd_u64 kd_pool_size(const struct kd_pool *p);
/* Bytes of accounted slices still held by the kernel (quota, spec 10.2). */
kd_u64 kd_pool_accounted(const struct kd_pool *p);
/* Bytes in use by any slice. */
kd_u64 kd_pool_used(const struct kd_pool *p);

#endif
