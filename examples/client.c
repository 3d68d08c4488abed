/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * examples/client: calls org.example.Echo (see examples/service.c) and then
 * listens to three of the service's Tick signals.
 *
 *   usage: client [BUS-PATH [TEXT]]
 *
 * BUS-PATH is what the service printed; when absent or empty the client
 * finds the service's bus "<uid>-example" under kdbus_root().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <kdbus/compat.h>
#include <kdbus/libkdbus.h>

#define SERVICE_NAME "org.example.Echo"

int main(int argc, char **argv)
{
	const char *text = argc > 2 ? argv[2] : "hello, kdbus";
	struct kdbus_message *call = NULL, *reply = NULL, *msg;
	struct kdbus_match *match = NULL;
	struct kdbus_conn *conn = NULL;
	char path[4096], buf[256];
	int r, ticks = 0;
	long n;

	if (argc > 1 && argv[1][0])
		snprintf(path, sizeof(path), "%s", argv[1]);
	else
		snprintf(path, sizeof(path), "%s/%u-example/bus", kdbus_root(),
			 (unsigned int)geteuid());

	r = kdbus_conn_new(&conn, path, 0, "echo-client");
	if (r < 0) {
		fprintf(stderr, "client: cannot connect to %s: %s\n", path, strerror(-r));
		return 1;
	}

	/* Subscribe first: signals sent before the match exists are not ours. */
	r = kdbus_match_new(&match, conn);
	if (r >= 0)
		r = kdbus_match_add_bloom(match, "member", "Tick");
	if (r >= 0)
		r = kdbus_conn_add_match(conn, match, 1, 0);
	if (r < 0)
		goto out;

	/* Call by name; the bus routes it to the name's owner. */
	r = kdbus_message_new(&call, conn);
	if (r >= 0)
		r = kdbus_message_set_destination_name(call, SERVICE_NAME);
	if (r >= 0)
		r = kdbus_message_append(call, text, strlen(text));
	if (r >= 0)
		r = kdbus_conn_call(conn, call, 5 * 1000 * 1000, &reply);
	if (r < 0)
		goto out;
	n = kdbus_message_read(reply, 0, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	printf("client: %s replied \"%s\"\n", SERVICE_NAME, buf);

	/* Signals arrive in the queue like any other message. */
	while (ticks < 3) {
		r = kdbus_conn_wait(conn, 2 * 1000 * 1000);
		if (r == 0)
			r = -ETIMEDOUT;
		if (r < 0)
			goto out;
		while (ticks < 3 && (r = kdbus_conn_recv(conn, &msg)) >= 0) {
			uint64_t count;

			if (kdbus_message_read(msg, 0, &count, sizeof(count)) == sizeof(count)) {
				printf("client: Tick %llu from :1.%llu\n", (unsigned long long)count,
				       (unsigned long long)kdbus_message_get_source(msg));
				ticks++;
			}
			kdbus_message_unref(msg);
		}
		if (r < 0 && r != -EAGAIN)
			goto out;
	}
	r = 0;
out:
	if (r < 0)
		fprintf(stderr, "client: %s\n", strerror(-r));
	kdbus_message_unref(reply);
	kdbus_message_unref(call);
	kdbus_match_unref(match);
	kdbus_conn_unref(conn);
	return r < 0 ? 1 : 0;
}
