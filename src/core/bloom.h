/* SPDX-License-Identifier: BSD-2-Clause */
/* Bloom filters (spec 9.5): the sd-bus hash and the kdbus match rule. */
#ifndef KD_CORE_BLOOM_H
#define KD_CORE_BLOOM_H

#include "core/compat.h"

/* SipHash-2-4 of in with a 16-byte key, 64-bit result. */
kd_u64 kd_siphash24(const void *in, kd_u64 len, const kd_u8 key[16]);
/* Whether (size, n_hash) can be used by kd_bloom_add(): 0 or -EINVAL. */
int kd_bloom_params_check(kd_u64 size, kd_u64 n_hash);
/* Set the bits of string s (len bytes) in filter data (size bytes). */
void kd_bloom_add(kd_u64 *data, kd_u64 size, kd_u64 n_hash, const void *s, kd_u64 len);
/*
 * Kernel match: does filter (generation gen, size bytes) match a mask item of
 * mask_size bytes (n_masks = mask_size / size generations)? Mask number
 * min(gen, n_masks - 1) must be a subset of the filter.
 */
bool kd_bloom_match(const kd_u64 *filter, kd_u64 gen, kd_u64 size, const kd_u64 *masks,
		    kd_u64 mask_size);

#endif
