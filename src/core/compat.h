/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The only door from src/core to its environment. Core code includes this
 * and nothing else from libc or the kernel, so the same files build into the
 * library, the broker and the Linux module.
 */
#ifndef KD_CORE_COMPAT_H
#define KD_CORE_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/limits.h>
typedef u64 kd_u64;
typedef s64 kd_s64;
typedef u32 kd_u32;
typedef u8 kd_u8;
#define kd_malloc(n) kmalloc((n), GFP_KERNEL)
#define kd_zalloc(n) kzalloc((n), GFP_KERNEL)
#define kd_free(p) kfree(p)
#ifndef EBADFD
#define EBADFD 77
#endif
#else
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>
typedef uint64_t kd_u64;
typedef int64_t kd_s64;
typedef uint32_t kd_u32;
typedef uint8_t kd_u8;
#define kd_malloc(n) malloc(n)
#define kd_zalloc(n) calloc(1, (n))
#define kd_free(p) free(p)
#endif

#include <kdbus/kdbus.h>

#define KD_ALIGN8(x) (((x) + 7) & ~(kd_u64)7)
#define KD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KD_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Recover the enclosing object of an embedded member. */
#define kd_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Iterate items in [first, first + size); caller has validated the list. */
#define KD_ITEMS_FOREACH(it, first, size)                                      \
	for ((it) = (first);                                                   \
	     (kd_u8 *)(it) < (kd_u8 *)(first) + (size) &&                       \
	     (kd_u8 *)(it) + 16 <= (kd_u8 *)(first) + (size);                    \
	     (it) = KDBUS_ITEM_NEXT(it))

#endif
