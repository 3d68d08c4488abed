/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * examples/service: creates a private bus, owns the name org.example.Echo on
 * it, answers every call with the call's text in upper case and broadcasts a
 * "Tick" signal twice a second. Run it, then examples/client in another
 * terminal. Ctrl-C ends the service and with it the bus.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <kdbus/libkdbus.h>

#define SERVICE_NAME "org.example.Echo"
#define TICK_USEC (500 * 1000)

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	quit = 1;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Answer one call: the reply carries the call's text in upper case. */
static int answer(struct kdbus_conn *conn, struct kdbus_message *call)
{
	struct kdbus_message *reply;
	char text[256];
	long i, n;
	int r;

	n = kdbus_message_read(call, 0, text, sizeof(text));
	if (n < 0)
		return (int)n;
	for (i = 0; i < n; i++)
		text[i] = (char)toupper((unsigned char)text[i]);

	r = kdbus_message_new(&reply, conn);
	if (r < 0)
		return r;
	if (n > 0)
		r = kdbus_message_append(reply, text, (size_t)n);
	if (r >= 0)
		r = kdbus_conn_reply(conn, call, reply); /* addressed to the caller for us */
	kdbus_message_unref(reply);
	return r;
}

/* Broadcast Tick(n): delivered to every connection whose match asks for it. */
static int tick(struct kdbus_conn *conn, uint64_t n)
{
	struct kdbus_message *sig;
	int r;

	r = kdbus_message_new(&sig, conn);
	if (r < 0)
		return r;
	r = kdbus_message_set_destination_id(sig, KDBUS_DST_ID_BROADCAST);
	if (r >= 0)
		r = kdbus_message_set_flags(sig, KDBUS_MSG_SIGNAL);
	if (r >= 0)
		r = kdbus_message_add_bloom(sig, "member", "Tick"); /* what subscribers match on */
	if (r >= 0)
		r = kdbus_message_append(sig, &n, sizeof(n));
	if (r >= 0)
		r = kdbus_conn_send(conn, sig);
	kdbus_message_unref(sig);
	return r;
}

int main(void)
{
	struct kdbus_conn *conn = NULL;
	struct kdbus_bus *bus = NULL;
	uint64_t ticks = 0, next;
	int r;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* The bus lives as long as we hold it. */
	r = kdbus_bus_new(&bus, "example", 0);
	if (r < 0) {
		fprintf(stderr, "service: cannot create the bus: %s\n", strerror(-r));
		return 1;
	}
	r = kdbus_conn_new(&conn, kdbus_bus_get_path(bus), 0, "echo-service");
	if (r >= 0)
		r = kdbus_conn_acquire_name(conn, SERVICE_NAME, 0, NULL);
	if (r < 0) {
		fprintf(stderr, "service: cannot connect or own %s: %s\n", SERVICE_NAME, strerror(-r));
		goto out;
	}
	printf("service: bus %s\nservice: serving %s as :1.%llu\n", kdbus_bus_get_path(bus),
	       SERVICE_NAME, (unsigned long long)kdbus_conn_get_id(conn));
	fflush(stdout);

	next = now_usec() + TICK_USEC;
	while (!quit) {
		struct kdbus_message *msg;
		uint64_t now = now_usec();

		if (now >= next) {
			r = tick(conn, ++ticks);
			if (r < 0)
				break;
			next += TICK_USEC;
			continue;
		}
		r = kdbus_conn_wait(conn, next - now);
		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		/* Drain the queue: every recv hands over one message. */
		while ((r = kdbus_conn_recv(conn, &msg)) >= 0) {
			if (kdbus_message_get_flags(msg) & KDBUS_MSG_EXPECT_REPLY) {
				int e = answer(conn, msg);

				if (e < 0)
					fprintf(stderr, "service: reply failed: %s\n", strerror(-e));
			}
			kdbus_message_unref(msg);
		}
		if (r != -EAGAIN)
			break;
		r = 0;
	}
	if (quit)
		r = 0; /* Ctrl-C is how the service ends */
	if (r < 0)
		fprintf(stderr, "service: %s\n", strerror(-r));
out:
	kdbus_conn_unref(conn);
	kdbus_bus_unref(bus);
	return r < 0 ? 1 : 0;
}
