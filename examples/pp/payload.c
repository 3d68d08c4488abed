/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong: payload pattern, stamps and sealed memfds.
 *
 * Every payload starts with an 8-byte little-endian sequence stamp. With
 * --verify the rest is a pattern derived from (seq, direction) so that every
 * byte of every request and reply is checked; without it only the stamp is
 * checked and receivers read (touch) payload bytes that the transport did not
 * copy into their memory, i.e. memfd contents.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pp.h"

struct pp_counts pp_client_counts;
volatile uint64_t pp_sink;

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

int pp_reply_check(const void *data, size_t len, size_t expect, uint64_t seq, bool touch)
{
	bool full = pp_opts.verify;
	uint64_t mask = expect >= 8 ? ~0ULL : (1ULL << (8 * expect)) - 1;

	if (len != expect || (pp_stamp(data, len) & mask) != (seq & mask)) {
		pp_client_counts.failures++;
		return -EBADMSG;
	}
	if (full) {
		if (pp_check(data, len, 0, seq, 1, true) < 0) {
			pp_client_counts.failures++;
			return -EBADMSG;
		}
		pp_client_counts.verified++;
	} else if (touch) {
		pp_touch(data, len);
	}
	pp_client_counts.requests++;
	return 0;
}

int pp_srv_request(struct pp_srv *srv, const void *data, size_t len, bool touch, uint64_t *seqp)
{
	uint64_t seq = pp_stamp(data, len);

	srv->counts.requests++;
	*seqp = seq;
	if (pp_opts.verify) {
		if (pp_check(data, len, 0, seq, 0, true) < 0) {
			srv->counts.failures++;
			return -EBADMSG;
		}
		srv->counts.verified++;
	} else if (touch) {
		pp_touch(data, len);
	}
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

	m = mmap(NULL, start + size, PROT_READ, MAP_SHARED, fd, 0);
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
