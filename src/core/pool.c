/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pool slice allocator (spec 6.2). Slices tile the pool in an offset-ordered
 * list; free slices sit in an AVL tree keyed by (size, offset) for best fit,
 * busy slices in an AVL tree keyed by offset for FREE lookups.
 */
#include "core/pool.h"

struct kd_avl {
	struct kd_avl *left;
	struct kd_avl *right;
	int height;
};

struct kd_slice {
	struct kd_slice *prev; /* neighbours by offset */
	struct kd_slice *next;
	struct kd_avl node;    /* in the free tree or the busy tree */
	kd_u64 off;
	kd_u64 size;
	bool busy;
	bool kref;
	bool uref;
	bool accounted;
};

struct kd_pool {
	kd_u64 size;
	kd_u64 used;
	kd_u64 accounted;
	struct kd_slice *first;
	struct kd_avl *free_root;
	struct kd_avl *busy_root;
};

#define SLICE(n) kd_container_of((n), struct kd_slice, node)

/* ---- a small recursive AVL tree; keys are unique so removal is by key ---- */

static int avl_height(const struct kd_avl *n)
{
	return n ? n->height : 0;
}

static void avl_fix(struct kd_avl *n)
{
	n->height = 1 + KD_MAX(avl_height(n->left), avl_height(n->right));
}

static struct kd_avl *avl_rotate_right(struct kd_avl *n)
{
	struct kd_avl *l = n->left;

	n->left = l->right;
	l->right = n;
	avl_fix(n);
	avl_fix(l);
	return l;
}

static struct kd_avl *avl_rotate_left(struct kd_avl *n)
{
	struct kd_avl *r = n->right;

	n->right = r->left;
	r->left = n;
	avl_fix(n);
	avl_fix(r);
	return r;
}

static struct kd_avl *avl_balance(struct kd_avl *n)
{
	int bal;

	avl_fix(n);
	bal = avl_height(n->left) - avl_height(n->right);
	if (bal > 1) {
		if (avl_height(n->left->left) < avl_height(n->left->right))
			n->left = avl_rotate_left(n->left);
		return avl_rotate_right(n);
	}
	if (bal < -1) {
		if (avl_height(n->right->right) < avl_height(n->right->left))
			n->right = avl_rotate_right(n->right);
		return avl_rotate_left(n);
	}
	return n;
}

/* Order of the free tree: size, then offset. */
static int cmp_free(const struct kd_slice *a, const struct kd_slice *b)
{
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return 0;
}

/* Order of the busy tree: offset. */
static int cmp_busy(const struct kd_slice *a, const struct kd_slice *b)
{
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return 0;
}

typedef int (*kd_slice_cmp)(const struct kd_slice *a, const struct kd_slice *b);

static struct kd_avl *avl_insert(struct kd_avl *root, struct kd_avl *n, kd_slice_cmp cmp)
{
	if (!root) {
		n->left = n->right = NULL;
		n->height = 1;
		return n;
	}
	if (cmp(SLICE(n), SLICE(root)) < 0)
		root->left = avl_insert(root->left, n, cmp);
	else
		root->right = avl_insert(root->right, n, cmp);
	return avl_balance(root);
}

/* Detach the leftmost node of root into *min; returns the new subtree. */
static struct kd_avl *avl_take_min(struct kd_avl *root, struct kd_avl **min)
{
	if (!root->left) {
		*min = root;
		return root->right;
	}
	root->left = avl_take_min(root->left, min);
	return avl_balance(root);
}

static struct kd_avl *avl_remove(struct kd_avl *root, struct kd_avl *n, kd_slice_cmp cmp)
{
	struct kd_avl *min;
	int c;

	if (!root)
		return NULL;
	c = cmp(SLICE(n), SLICE(root));
	if (c < 0) {
		root->left = avl_remove(root->left, n, cmp);
	} else if (c > 0) {
		root->right = avl_remove(root->right, n, cmp);
	} else {
		if (!root->right)
			return root->left;
		root->right = avl_take_min(root->right, &min);
		min->left = root->left;
		min->right = root->right;
		root = min;
	}
	return avl_balance(root);
}

/* ---- pool ---- */

static struct kd_slice *slice_new(kd_u64 off, kd_u64 size)
{
	struct kd_slice *s = kd_zalloc(sizeof(*s));

	if (s) {
		s->off = off;
		s->size = size;
	}
	return s;
}

static void free_insert(struct kd_pool *p, struct kd_slice *s)
{
	s->busy = false;
	p->free_root = avl_insert(p->free_root, &s->node, cmp_free);
}

static void free_remove(struct kd_pool *p, struct kd_slice *s)
{
	p->free_root = avl_remove(p->free_root, &s->node, cmp_free);
}

struct kd_pool *kd_pool_new(kd_u64 size)
{
	struct kd_pool *p;

	/* Whole 8-byte units only: a ragged tail could never be handed out. */
	size &= ~(kd_u64)7;
	p = kd_zalloc(sizeof(*p));
	if (!p)
		return NULL;
	p->size = size;
	if (size > 0) {
		p->first = slice_new(0, size);
		if (!p->first) {
			kd_free(p);
			return NULL;
		}
		free_insert(p, p->first);
	}
	return p;
}

struct kd_pool *kd_pool_free(struct kd_pool *p)
{
	struct kd_slice *s, *next;

	if (!p)
		return NULL;
	for (s = p->first; s; s = next) {
		next = s->next;
		kd_free(s);
	}
	kd_free(p);
	return NULL;
}

/* Smallest free slice of at least size bytes, lowest offset among equals. */
static struct kd_slice *best_fit(const struct kd_pool *p, kd_u64 size)
{
	struct kd_avl *n = p->free_root;
	struct kd_slice *found = NULL;

	while (n) {
		if (SLICE(n)->size >= size) {
			found = SLICE(n);
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return found;
}

int kd_pool_alloc(struct kd_pool *p, kd_u64 size, bool accounted, kd_u64 *off)
{
	struct kd_slice *s, *rest = NULL;

	if (size == 0)
		return -EINVAL;
	/* Checked before rounding so ALIGN8 cannot wrap. */
	if (size > p->size)
		return -EXFULL;
	size = KD_ALIGN8(size);
	s = best_fit(p, size);
	if (!s)
		return -EXFULL;
	if (s->size > size) {
		rest = slice_new(s->off + size, s->size - size);
		if (!rest)
			return -ENOMEM;
	}

	free_remove(p, s);
	if (rest) {
		s->size = size;
		rest->prev = s;
		rest->next = s->next;
		if (s->next)
			s->next->prev = rest;
		s->next = rest;
		free_insert(p, rest);
	}

	s->busy = true;
	s->kref = true;
	s->uref = false;
	s->accounted = accounted;
	p->busy_root = avl_insert(p->busy_root, &s->node, cmp_busy);
	p->used += s->size;
	if (accounted)
		p->accounted += s->size;
	*off = s->off;
	return 0;
}

static struct kd_slice *busy_find(const struct kd_pool *p, kd_u64 off)
{
	struct kd_avl *n = p->busy_root;

	while (n) {
		if (off == SLICE(n)->off)
			return SLICE(n);
		n = off < SLICE(n)->off ? n->left : n->right;
	}
	return NULL;
}

kd_u64 kd_pool_slice_size(const struct kd_pool *p, kd_u64 off)
{
	struct kd_slice *s = busy_find(p, off);

	return s ? s->size : 0;
}

/* Both references gone: back to the free tree, merged with free neighbours. */
static void slice_release(struct kd_pool *p, struct kd_slice *s)
{
	struct kd_slice *n;

	p->busy_root = avl_remove(p->busy_root, &s->node, cmp_busy);
	p->used -= s->size;

	n = s->prev;
	if (n && !n->busy) {
		free_remove(p, n);
		n->size += s->size;
		n->next = s->next;
		if (s->next)
			s->next->prev = n;
		kd_free(s);
		s = n;
	}
	n = s->next;
	if (n && !n->busy) {
		free_remove(p, n);
		s->size += n->size;
		s->next = n->next;
		if (n->next)
			n->next->prev = s;
		kd_free(n);
	}
	free_insert(p, s);
}

int kd_pool_publish(struct kd_pool *p, kd_u64 off)
{
	struct kd_slice *s = busy_find(p, off);

	if (!s)
		return -ENXIO;
	s->uref = true;
	return 0;
}

void kd_pool_release_kernel(struct kd_pool *p, kd_u64 off)
{
	struct kd_slice *s = busy_find(p, off);

	if (!s || !s->kref)
		return;
	s->kref = false;
	if (s->accounted)
		p->accounted -= s->size;
	if (!s->uref)
		slice_release(p, s);
}

int kd_pool_release_user(struct kd_pool *p, kd_u64 off)
{
	struct kd_slice *s = busy_find(p, off);

	if (!s || !s->uref)
		return -ENXIO;
	s->uref = false;
	if (!s->kref)
		slice_release(p, s);
	return 0;
}

kd_u64 kd_pool_size(const struct kd_pool *p)
{
	return p->size;
}

kd_u64 kd_pool_accounted(const struct kd_pool *p)
{
	return p->accounted;
}

kd_u64 kd_pool_used(const struct kd_pool *p)
{
	return p->used;
}
