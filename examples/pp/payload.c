/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong: payload pattern, stamps and sealed memfds.
 *
 * Every payload starts with an 8-byte little-endian sequence stamp. With
 * --verify the rest is a pattern derived from (seq, direction) so that every
 * byte of every request and reply is checked; without it only the stamp is
 * checked and receivers sum every byte instead, so that no system gets away
 * without reading what it received (see pp.h, "the receive rule").
 * Prepared memfds hold the pattern of PP_MEMFD_SEQ; their receivers compare
 * the sum with the one computed when the memfd was made.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp.h"

struct pp_counts pp_client_counts;
volatile uint64_t pp_sink;

/** A prepared memfd: sealed, filled once, sent by every round trip of its size. */
struct pp_prepared {
	size_t size;
	int fd;
	uint64_t sum;             /* pp_touch() of the content */
	dev_t dev;
	ino_t ino;
};

static struct pp_prepared pp_prep[PP_MAX_SIZES];
static unsigned pp_n_prep;

static uint64_t pp_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t pp_word(uint64_t seq, int dir, size_t i)
{
	if (i == 0)
		return htole64(seq);
	return htole64(pp_mix(((seq << 1) | (uint64_t)dir) * 0x100000001b3ULL + i));
}

void pp_fill(void *buf, size_t size, uint64_t seq, int dir, bool full)
{
	uint8_t *p = buf;
	size_t words = full ? size / 8 : (size >= 8 ? 1 : 0);
	uint64_t w;

	for (size_t i = 0; i < words; i++) {
		w = pp_word(seq, dir, i);
		memcpy(p + i * 8, &w, 8);
	}
	if (size < 8 || (full && size % 8)) {
		size_t i = size / 8;

		w = pp_word(seq, dir, i);
		memcpy(p + i * 8, &w, size % 8);
	}
}

int pp_check(const void *buf, size_t len, size_t pos, uint64_t seq, int dir, bool full)
{
	const uint8_t *p = buf;
	size_t end = pos + len;
	uint64_t w, got;

	if (!full && end > 8)
		end = 8;
	/* word-aligned bulk, then any ragged bytes at either end */
	while (pos < end && pos % 8) {
		w = pp_word(seq, dir, pos / 8);
		if (p[0] != ((const uint8_t *)&w)[pos % 8])
			return -EBADMSG;
		p++;
		pos++;
	}
	while (pos + 8 <= end) {
		memcpy(&got, p, 8);
		if (got != pp_word(seq, dir, pos / 8))
			return -EBADMSG;
		p += 8;
		pos += 8;
	}
	if (pos < end) {
		w = pp_word(seq, dir, pos / 8);
		if (memcmp(p, &w, end - pos))
			return -EBADMSG;
	}
	return 0;
}

uint64_t pp_touch(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t sum = 0, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		sum += w;
	}
	for (; i < len; i++)
		sum += p[i];
	pp_sink = sum;
	return sum;
}

uint64_t pp_stamp(const void *data, size_t len)
{
	uint64_t w = 0;

	memcpy(&w, data, len < 8 ? len : 8);
	return le64toh(w);
}

static const struct pp_prepared *pp_prep_find(size_t size)
{
	for (unsigned i = 0; i < pp_n_prep; i++)
		if (pp_prep[i].size == size)
			return &pp_prep[i];
	return NULL;
}

/* Read every byte of a prepared memfd's content: its pattern with --verify, else its sum. */
static int pp_prepared_read(const void *data, size_t len)
{
	const struct pp_prepared *p;
	uint64_t sum;

	if (pp_opts.verify)
		return pp_check(data, len, 0, PP_MEMFD_SEQ, 0, true);
	sum = pp_touch(data, len);
	p = pp_prep_find(len);
	return p && sum == p->sum ? 0 : -EBADMSG;
}

void pp_reply_fail(void)
{
	pp_client_counts.failures++;
}

int pp_reply_check(const void *data, size_t len, size_t expect, uint64_t seq, bool prepared)
{
	bool full = pp_opts.verify;
	uint64_t mask = expect >= 8 ? ~0ULL : (1ULL << (8 * expect)) - 1;
	int r;

	if (len != expect) {
		pp_client_counts.failures++;
		return -EBADMSG;
	}
	if (prepared) {
		r = pp_prepared_read(data, len);
	} else if ((pp_stamp(data, len) & mask) != (seq & mask)) {
		r = -EBADMSG;
	} else if (full) {
		r = pp_check(data, len, 0, seq, 1, true);
	} else {
		pp_touch(data, len);
		r = 0;
	}
	if (r < 0) {
		pp_client_counts.failures++;
		return r;
	}
	if (full)
		pp_client_counts.verified++;
	pp_client_counts.requests++;
	return 0;
}

int pp_srv_request(struct pp_srv *srv, const void *data, size_t len, bool prepared, uint64_t *seqp)
{
	uint64_t seq = prepared ? PP_MEMFD_SEQ : pp_stamp(data, len);
	int r = 0;

	srv->counts.requests++;
	*seqp = seq;
	if (prepared)
		r = pp_prepared_read(data, len);
	else if (pp_opts.verify)
		r = pp_check(data, len, 0, seq, 0, true);
	else
		pp_touch(data, len);
	if (r < 0) {
		srv->counts.failures++;
		return r;
	}
	if (pp_opts.verify)
		srv->counts.verified++;
	return 0;
}

void *pp_srv_reply_buf(struct pp_srv *srv, size_t size, uint64_t seq)
{
	if (!pp_opts.verify)
		return NULL;
	if (srv->buf_size < size) {
		pp_buf_free(srv->buf, srv->buf_size);
		srv->buf = pp_buf_new(size);
		srv->buf_size = srv->buf ? size : 0;
		if (!srv->buf)
			return NULL;
	}
	pp_fill(srv->buf, size, seq, 1, true);
	return srv->buf;
}

void pp_client_fill(void *buf, size_t size, uint64_t seq)
{
	pp_fill(buf, size, seq, 0, pp_opts.verify);
}

int pp_memfd_new(const void *src, size_t size)
{
	const uint8_t *p = src;
	size_t done = 0;
	int fd;

	fd = memfd_create("ping-pong", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = pwrite(fd, p + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			close(fd);
			return r;
		}
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int pp_memfd_map(int fd, size_t start, size_t size, const void **datap, void **mapp,
		 size_t *maplenp)
{
	void *m;

	/* every byte is read anyway: populate the page tables in one go, not fault by fault */
	m = mmap(NULL, start + size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*mapp = m;
	*maplenp = start + size;
	*datap = (const uint8_t *)m + start;
	return 0;
}

void *pp_buf_new(size_t size)
{
	void *p;

	if (!size)
		size = 8;
	/* pre-faulted so that no first-touch page fault lands in a measured round trip */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	return p;
}

void pp_buf_free(void *buf, size_t size)
{
	if (buf)
		munmap(buf, size ? size : 8);
}

int pp_memfd_prepare(void)
{
	for (unsigned i = 0; i < pp_opts.n_sizes; i++) {
		size_t size = pp_opts.sizes[i];
		struct pp_prepared *p;
		struct stat st;
		void *buf;

		if (pp_prep_find(size))
			continue;
		buf = pp_buf_new(size);
		if (!buf)
			return -ENOMEM;
		p = &pp_prep[pp_n_prep];
		pp_fill(buf, size, PP_MEMFD_SEQ, 0, true);
		p->sum = pp_touch(buf, size);
		p->fd = pp_memfd_new(buf, size);
		pp_buf_free(buf, size);
		if (p->fd < 0)
			return p->fd;
		if (fstat(p->fd, &st) < 0)
			return -errno;
		p->size = size;
		p->dev = st.st_dev;
		p->ino = st.st_ino;
		pp_n_prep++;
	}
	return 0;
}

int pp_memfd_prepared(size_t size)
{
	const struct pp_prepared *p = pp_prep_find(size);

	return p ? p->fd : -ENOENT;
}

int pp_memfd_same(int fd, size_t size)
{
	const struct pp_prepared *p = pp_prep_find(size);
	struct stat st;

	if (!p || fstat(fd, &st) < 0 || st.st_dev != p->dev || st.st_ino != p->ino)
		return -EBADMSG;
	return 0;
}

const char *pp_payload_str(unsigned payload)
{
	switch (payload) {
	case PP_PAYLOAD_VEC:
		return "vec";
	case PP_PAYLOAD_MEMFD:
		return "memfd";
	case PP_PAYLOAD_MEMFD_FRESH:
		return "memfd-fresh";
	default:
		return "auto";
	}
}
