/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * kdbus-broker entry point and event loop.
 *
 *   kdbus-broker --creator-fd FD --root DIR   (started by KDBUS_CMD_BUS_MAKE)
 *
 * The creator fd carries exactly one BUS_MAKE request; afterwards its hang-up
 * ends the bus, as closing the bus-owner fd does on Linux kdbus.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backend-socket/broker/broker.h"
#include "os/os.h"

static void raise_nofile(void)
{
	struct rlimit rl;

	/* fds in flight and queued fds count against us: take what we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void dispatch(struct kb_bus *bus, struct kd_poll_event *ev)
{
	struct kb_src *src = ev->data;

	switch (src->kind) {
	case KB_SRC_CREATOR:
		/* Any event on the creator socket means its fd went away. */
		bus->quit = true;
		break;
	case KB_SRC_LISTEN:
		kb_bus_accept(bus);
		break;
	case KB_SRC_QUEUE:
		if (((struct kb_conn *)src->obj)->qsrc.fd >= 0)
			kb_conn_on_queue(src->obj, ev->events);
		break;
	case KB_SRC_CMD:
		if (((struct kb_conn *)src->obj)->csrc.fd >= 0)
			kb_conn_on_cmd(src->obj, ev->events);
		break;
	case KB_SRC_CANCEL:
		if (!((struct kb_reply *)src->obj)->dead)
			kb_reply_cancel(src->obj);
		break;
	case KB_SRC_EP_LISTEN:
		kb_ep_accept(src->obj);
		break;
	}
}

static bool is_hangup(const struct kd_poll_event *ev)
{
	const struct kb_src *src = ev->data;

	return src->kind == KB_SRC_QUEUE && (ev->events & (KD_POLL_HUP | KD_POLL_ERR));
}

static int run(struct kb_bus *bus)
{
	struct kd_poll_event ev[64];
	int i, n;

	while (!bus->quit) {
		n = kd_poller_wait(bus->poller, ev, 64, kb_bus_next_timeout(bus));
		if (n < 0) {
			if (n == -EINTR)
				continue;
			return n;
		}
		/*
		 * Hang-ups first: a close() that returned before a peer's request
		 * was sent is then seen first, as kdbus's synchronous release
		 * guarantees (a holder's grants are gone, its names released).
		 */
		for (i = 0; i < n && !bus->quit; i++)
			if (is_hangup(&ev[i]))
				dispatch(bus, &ev[i]);
		for (i = 0; i < n && !bus->quit; i++)
			if (!is_hangup(&ev[i]))
				dispatch(bus, &ev[i]);
		kb_bus_timers(bus);
		kb_bus_reap(bus);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: kdbus-broker --creator-fd FD --root DIR\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "creator-fd", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kb_bus bus;
	const char *root = NULL;
	int creator = -1, c, r;

	while ((c = getopt_long(argc, argv, "c:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			creator = atoi(optarg);
			break;
		case 'r':
			root = optarg;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (creator < 0 || !root) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	(void)fcntl(creator, F_SETFD, FD_CLOEXEC);

	r = kb_bus_make(&bus, creator, root);
	if (r < 0)
		return 1;
	r = run(&bus);
	kb_bus_destroy(&bus);
	return r < 0 ? 1 : 0;
}
