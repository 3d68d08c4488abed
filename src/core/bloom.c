/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bloom filters (spec 9.5): SipHash-2-4, the sd-bus bit selection with its
 * eight fixed keys, and the kernel's mask-subset-of-filter match.
 */
#include "core/bloom.h"
#include "core/limits.h"

/* The fixed keys every client of a bus hashes with (spec 9.5). */
static const kd_u8 kd_bloom_keys[8][16] = {
	{ 0xb9, 0x66, 0x0b, 0xf0, 0x46, 0x70, 0x47, 0xc1,
	  0x88, 0x75, 0xc4, 0x9c, 0x54, 0xb9, 0xbd, 0x15 },
	{ 0xaa, 0xa1, 0x54, 0xa2, 0xe0, 0x71, 0x4b, 0x39,
	  0xbf, 0xe1, 0xdd, 0x2e, 0x9f, 0xc5, 0x4a, 0x3b },
	{ 0x63, 0xfd, 0xae, 0xbe, 0xcd, 0x82, 0x48, 0x12,
	  0xa1, 0x6e, 0x41, 0x26, 0xcb, 0xfa, 0xa0, 0xc8 },
	{ 0x23, 0xbe, 0x45, 0x29, 0x32, 0xd2, 0x46, 0x2d,
	  0x82, 0x03, 0x52, 0x28, 0xfe, 0x37, 0x17, 0xf5 },
	{ 0x56, 0x3b, 0xbf, 0xee, 0x5a, 0x4f, 0x43, 0x39,
	  0xaf, 0xaa, 0x94, 0x08, 0xdf, 0xf0, 0xfc, 0x10 },
	{ 0x31, 0x80, 0xc8, 0x73, 0xc7, 0xea, 0x46, 0xd3,
	  0xaa, 0x25, 0x75, 0x0f, 0x9e, 0x4c, 0x09, 0x29 },
	{ 0x7d, 0xf7, 0x18, 0x4b, 0x7b, 0xa4, 0x44, 0xd5,
	  0x85, 0x3c, 0x06, 0xe0, 0x65, 0x53, 0x96, 0x6d },
	{ 0xf2, 0x77, 0xe9, 0x6f, 0x93, 0xb5, 0x4e, 0x71,
	  0x9a, 0x0c, 0x34, 0x88, 0x39, 0x25, 0xbf, 0x35 },
};

/* ---- SipHash-2-4 ---- */

static kd_u64 rotl64(kd_u64 x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Byte order independent: SipHash is defined on little-endian words. */
static kd_u64 load_le64(const kd_u8 *p)
{
	kd_u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

struct sip_state {
	kd_u64 v0, v1, v2, v3;
};

static void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static void sip_compress(struct sip_state *s, kd_u64 m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

kd_u64 kd_siphash24(const void *in, kd_u64 len, const kd_u8 key[16])
{
	const kd_u8 *p = in;
	kd_u64 k0 = load_le64(key), k1 = load_le64(key + 8);
	struct sip_state s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	kd_u64 left = len, m;
	int i;

	for (; left >= 8; left -= 8, p += 8)
		sip_compress(&s, load_le64(p));

	/* Last block: remaining bytes, zero filled, length in the top byte. */
	m = len << 56;
	for (i = (int)left - 1; i >= 0; i--)
		m |= (kd_u64)p[i] << (8 * i);
	sip_compress(&s, m);

	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- sd-bus bit selection ---- */

/* Bytes per bit index: (floor(log2(m)) + 7) / 8. */
static unsigned int bloom_bytes_per_index(kd_u64 m)
{
	unsigned int log2 = 0;

	while (m >>= 1)
		log2++;
	return (log2 + 7) / 8;
}

int kd_bloom_params_check(kd_u64 size, kd_u64 n_hash)
{
	kd_u64 w;

	if (size < 8 || size > KDBUS_BUS_BLOOM_MAX_SIZE || size % 8)
		return -EINVAL;
	if (n_hash < 1)
		return -EINVAL;
	w = bloom_bytes_per_index(size * 8);
	/* Eight keys of eight bytes each are all the hash material there is. */
	if (w > 8 || n_hash > 64 / w)
		return -EINVAL;
	return 0;
}

void kd_bloom_add(kd_u64 *data, kd_u64 size, kd_u64 n_hash, const void *s, kd_u64 len)
{
	const kd_u64 m = size * 8;
	const unsigned int w = bloom_bytes_per_index(m);
	kd_u8 stream[8];
	unsigned int used = 8, key = 0, i, j, b;
	kd_u64 h, p;

	for (i = 0; i < n_hash; i++) {
		p = 0;
		for (j = 0; j < w; j++) {
			if (used == 8) {
				/* Unchecked parameters must not read past the keys. */
				if (key == KD_ARRAY_SIZE(kd_bloom_keys))
					return;
				h = kd_siphash24(s, len, kd_bloom_keys[key++]);
				for (b = 0; b < 8; b++)
					stream[b] = (kd_u8)(h >> (8 * b));
				used = 0;
			}
			p = (p << 8) | stream[used++];
		}
		p &= m - 1;
		data[p >> 6] |= 1ULL << (p & 63);
	}
}

/* ---- kernel match rule ---- */

bool kd_bloom_match(const kd_u64 *filter, kd_u64 gen, kd_u64 size, const kd_u64 *masks,
		    kd_u64 mask_size)
{
	kd_u64 n_masks, n_words, i;
	const kd_u64 *mask;

	if (size == 0 || size % 8)
		return false;
	n_masks = mask_size / size;
	if (n_masks == 0)
		return false;
	n_words = size / 8;
	/* Newer filter generations than the mask knows use its last mask. */
	mask = masks + KD_MIN(gen, n_masks - 1) * n_words;
	for (i = 0; i < n_words; i++)
		if ((filter[i] & mask[i]) != mask[i])
			return false;
	return true;
}
