/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong baselines through a D-Bus broker: private dbus-daemon and
 * dbus-broker instances on sockets in a temp directory, an sd-bus server
 * exporting Echo(ay)->ay, EchoFd(h)->h (replies with the fd it got: the
 * prepared memfd comes back, zero copy) and EchoFdFresh(h)->h (replies with a
 * fresh sealed memfd), and an sd-bus client calling it.
 *
 * dbus-daemon runs from a generated config. dbus-broker has no config of its
 * own: it is driven by a controller over an inherited socket (normally
 * dbus-broker-launch, which wants systemd socket activation and a journal).
 * We are that controller: we hand it the listening socket and an allow-all
 * policy with org.bus1.DBus.Broker.AddListener, the way dbus-broker's own
 * test harness does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "pp.h"

#ifdef HAVE_SDBUS
#include <systemd/sd-bus.h>

#define PP_DBUS_PATH "/org/kdbus/PingPong"
#define PP_DBUS_IFACE "org.kdbus.PingPong"
#define PP_DBUS_TIMEOUT_US (30ULL * 1000000ULL)

struct pp_dbus {
	const char *name;         /* "dbus-daemon", "dbus-broker" */
	pid_t pid;
	char address[512];
	sd_bus *controller;       /* dbus-broker only */
	bool up;
};

static struct pp_dbus pp_daemon = { .name = "dbus-daemon" };
static struct pp_dbus pp_broker = { .name = "dbus-broker" };

struct pp_pair {
	struct pp_child child;
	sd_bus *bus;
	char dest[64];
	unsigned payload;         /* PP_PAYLOAD_VEC (ay), _MEMFD or _MEMFD_FRESH (h) */
	void *sbuf;
	size_t buf_size;
};

struct pp_sdbus_srv {
	const char *address;
	struct pp_srv srv;
};

static size_t pp_max_size(void)
{
	size_t m = 8;

	for (unsigned i = 0; i < pp_opts.n_sizes; i++)
		if (pp_opts.sizes[i] > m)
			m = pp_opts.sizes[i];
	return m;
}

static int pp_which(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *dir;

	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, prog);
		if (access(out, X_OK) == 0) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	return -ENOENT;
}

static int pp_bus_connect(const char *address, sd_bus **busp)
{
	sd_bus *b = NULL;
	int r;

	r = sd_bus_new(&b);
	if (r < 0)
		return r;
	r = sd_bus_set_address(b, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(b, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(b, 1);
	if (r >= 0)
		r = sd_bus_start(b);
	/*
	 * Finish authentication and Hello now: a client whose first call comes
	 * later than dbus-daemon's auth_timeout would be dropped mid-run.
	 */
	if (r >= 0)
		r = sd_bus_get_unique_name(b, &(const char *){ NULL });
	if (r < 0) {
		sd_bus_unref(b);
		return r;
	}
	*busp = b;
	return 0;
}

/* ---- the Echo server */

static int pp_echo(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct pp_sdbus_srv *s = userdata;
	sd_bus_message *reply = NULL;
	const void *data;
	const void *out;
	size_t len;
	uint64_t seq;
	int r;

	r = sd_bus_message_read_array(m, 'y', &data, &len);
	if (r < 0)
		return r;
	/* sd-bus copied the bytes into its message: nothing left to touch */
	if (pp_srv_request(&s->srv, data, len, false, &seq) < 0)
		return sd_bus_error_set_errno(err, EBADMSG);
	out = pp_srv_reply_buf(&s->srv, len, seq);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', out ? out : data, len);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 1;
}

static int pp_echo_fd_common(sd_bus_message *m, struct pp_sdbus_srv *s, sd_bus_error *err,
			     bool prepared)
{
	sd_bus_message *reply = NULL;
	const void *data, *out;
	struct stat stb;
	void *map = NULL;
	size_t maplen = 0;
	uint64_t seq;
	int fd, memfd = -1, r;

	r = sd_bus_message_read(m, "h", &fd);
	if (r < 0)
		return r;
	/* D-Bus carries no size with an fd: ask the file */
	if (fstat(fd, &stb) < 0)
		return -errno;
	r = pp_memfd_map(fd, 0, (size_t)stb.st_size, &data, &map, &maplen);
	if (r < 0)
		return r;
	if (pp_srv_request(&s->srv, data, (size_t)stb.st_size, prepared, &seq) < 0) {
		munmap(map, maplen);
		return sd_bus_error_set_errno(err, EBADMSG);
	}
	if (!prepared) {
		out = pp_srv_reply_buf(&s->srv, (size_t)stb.st_size, seq);
		memfd = pp_memfd_new(out ? out : data, (size_t)stb.st_size);
	}
	munmap(map, maplen);
	if (memfd < 0 && !prepared)
		return memfd;
	r = sd_bus_message_new_method_return(m, &reply);
	/* prepared: the memfd we got goes back (sd-bus sends a dup of it) */
	if (r >= 0)
		r = sd_bus_message_append(reply, "h", prepared ? fd : memfd);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (memfd >= 0)
		close(memfd);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 1;
}

static int pp_echo_fd(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	return pp_echo_fd_common(m, userdata, err, true);
}

static int pp_echo_fd_fresh(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	return pp_echo_fd_common(m, userdata, err, false);
}

static const sd_bus_vtable pp_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Echo", "ay", "ay", pp_echo, 0),
	SD_BUS_METHOD("EchoFd", "h", "h", pp_echo_fd, 0),
	SD_BUS_METHOD("EchoFdFresh", "h", "h", pp_echo_fd_fresh, 0),
	SD_BUS_VTABLE_END
};

static int pp_sdbus_serve(void *arg, int ctl, int st)
{
	struct pp_sdbus_srv *s = arg;
	sd_bus *b = NULL;
	char name[64];
	uint64_t ready = 0;
	int r;

	snprintf(name, sizeof(name), "org.kdbus.PingPong.P%d", (int)getpid());
	r = pp_bus_connect(s->address, &b);
	if (r >= 0)
		r = sd_bus_request_name(b, name, 0);
	if (r >= 0)
		r = sd_bus_add_object_vtable(b, NULL, PP_DBUS_PATH, PP_DBUS_IFACE, pp_vtable, s);
	if (r < 0)
		pp_warn("sd-bus server on %s: %s", s->address, strerror(-r));
	else
		ready = (uint64_t)getpid();
	pp_write_full(st, &ready, sizeof(ready));
	while (r >= 0) {
		struct pollfd pfd[2] = { { sd_bus_get_fd(b), 0, 0 }, { ctl, POLLIN, 0 } };

		r = sd_bus_process(b, NULL);
		if (r > 0)
			continue;
		if (r < 0)
			break;
		r = sd_bus_get_events(b);
		if (r < 0)
			break;
		pfd[0].events = (short)r;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (pfd[1].revents)
			break;
		r = 0;
	}
	if (b)
		sd_bus_flush_close_unref(b);
	pp_write_full(st, &s->srv.counts, sizeof(s->srv.counts));
	return r < 0 ? r : 0;
}

/* ---- the systems */

static int pp_sdbus_open(struct pp_system *sys, struct pp_pair **pairp)
{
	struct pp_dbus *d = sys->ctx;
	struct pp_sdbus_srv s = { .address = d->address };
	struct pp_pair *p;
	uint64_t ready = 0;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->payload = sys->payload;
	r = pp_spawn(&p->child, pp_sdbus_serve, &s);
	if (r < 0)
		goto fail;
	r = pp_read_full(p->child.st, &ready, sizeof(ready));
	if (r < 0 || !ready) {
		r = r < 0 ? r : -ECONNREFUSED;
		goto fail;
	}
	snprintf(p->dest, sizeof(p->dest), "org.kdbus.PingPong.P%llu", (unsigned long long)ready);
	r = pp_bus_connect(d->address, &p->bus);
	if (r < 0)
		goto fail;
	pp_fd_register(sd_bus_get_fd(p->bus));
	p->buf_size = pp_max_size();
	p->sbuf = pp_buf_new(p->buf_size);
	if (!p->sbuf) {
		r = -ENOMEM;
		goto fail;
	}
	pp_fill(p->sbuf, p->buf_size, 0, 0, true);
	*pairp = p;
	return 0;

fail:
	if (p->bus) {
		pp_fd_unregister(sd_bus_get_fd(p->bus));
		sd_bus_flush_close_unref(p->bus);
	}
	pp_child_stop(&p->child, NULL);
	free(p);
	return r;
}

static int pp_sdbus_rtt(struct pp_pair *p, size_t size, uint64_t seq)
{
	static const char *const methods[] = { "Echo", "EchoFd", "EchoFdFresh" };
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	bool prepared = p->payload == PP_PAYLOAD_MEMFD, fd_payload = p->payload != PP_PAYLOAD_VEC;
	const void *data;
	void *map = NULL;
	size_t len = 0, maplen = 0;
	int r, memfd = -1, fd;

	if (!prepared)
		pp_client_fill(p->sbuf, size, seq);
	r = sd_bus_message_new_method_call(p->bus, &m, p->dest, PP_DBUS_PATH, PP_DBUS_IFACE,
					   methods[prepared ? 1 : fd_payload ? 2 : 0]);
	if (r < 0)
		return r;
	if (prepared) {
		r = sd_bus_message_append(m, "h", pp_memfd_prepared(size));
	} else if (fd_payload) {
		memfd = pp_memfd_new(p->sbuf, size);
		r = memfd < 0 ? memfd : sd_bus_message_append(m, "h", memfd);
		if (memfd >= 0)
			close(memfd);
	} else {
		r = sd_bus_message_append_array(m, 'y', p->sbuf, size);
	}
	if (r >= 0)
		r = sd_bus_call(p->bus, m, PP_DBUS_TIMEOUT_US, &err, &reply);
	if (r < 0) {
		if (sd_bus_error_is_set(&err))
			pp_warn("sd-bus call: %s: %s", err.name, err.message ? err.message : "");
		goto out;
	}
	if (fd_payload) {
		struct stat stb;

		r = sd_bus_message_read(reply, "h", &fd);
		if (r >= 0 && prepared && pp_opts.verify && pp_memfd_same(fd, size) < 0) {
			pp_reply_fail();
			r = -EBADMSG;
		}
		if (r >= 0 && fstat(fd, &stb) < 0)
			r = -errno;
		if (r >= 0)
			r = pp_memfd_map(fd, 0, (size_t)stb.st_size, &data, &map, &maplen);
		len = r >= 0 ? (size_t)stb.st_size : 0;
	} else {
		r = sd_bus_message_read_array(reply, 'y', &data, &len);
	}
	if (r >= 0)
		r = pp_reply_check(data, len, size, seq, prepared);
	if (map)
		munmap(map, maplen);
out:
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

static void pp_sdbus_close(struct pp_pair *p, struct pp_counts *server)
{
	pp_fd_unregister(sd_bus_get_fd(p->bus));
	sd_bus_flush_close_unref(p->bus);
	if (pp_child_stop(&p->child, server) < 0)
		pp_warn("sd-bus server exited with an error");
	pp_buf_free(p->sbuf, p->buf_size);
	free(p);
}

static const char *pp_sdbus_payload_name(const struct pp_system *sys, size_t size)
{
	return sys->payload == PP_PAYLOAD_VEC ? "ay" : pp_payload_str(sys->payload);
}

static const struct pp_system_ops pp_sdbus_ops = {
	.open = pp_sdbus_open,
	.rtt = pp_sdbus_rtt,
	.close = pp_sdbus_close,
	.supports = pp_supports_all,
	.not_applicable = pp_baseline_not_applicable,
	.payload_name = pp_sdbus_payload_name,
};

/* ---- starting the buses */

static void pp_child_exec(const char *log, char *const argv[], int keep)
{
	int fd;

	pp_exec_prepare();
	if (keep >= 0)
		fcntl(keep, F_SETFD, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execv(argv[0], argv);
	_exit(127);
}

static void pp_dbus_log_tail(const char *log)
{
	char buf[512];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		pp_warn("its output: %s", buf);
	}
}

static int pp_daemon_start(struct pp_dbus *d)
{
	char bin[4096], conf[4096], sock[4096], log[4096], arg_conf[4200], arg_addr[64];
	char *argv[] = { bin, arg_conf, "--nofork", arg_addr, NULL };
	struct pollfd pfd;
	size_t got = 0;
	int pfds[2], r;
	FILE *f;

	if (pp_which("dbus-daemon", bin, sizeof(bin)) < 0) {
		pp_skip("dbus-daemon: not installed (install the dbus package)");
		return -ENOENT;
	}
	snprintf(conf, sizeof(conf), "%s/dbus-daemon.conf", pp_tmpdir());
	snprintf(sock, sizeof(sock), "%s/dbus-daemon.sock", pp_tmpdir());
	snprintf(log, sizeof(log), "%s/dbus-daemon.log", pp_tmpdir());
	f = fopen(conf, "we");
	if (!f)
		return -errno;
	/* session-bus semantics, everything allowed, limits high enough for 16 MiB messages */
	fprintf(f,
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <type>session</type>\n"
		"  <listen>unix:path=%s</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow user=\"*\"/>\n"
		"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
		"    <allow eavesdrop=\"true\"/>\n"
		"    <allow own=\"*\"/>\n"
		"  </policy>\n"
		"  <limit name=\"max_incoming_bytes\">1000000000</limit>\n"
		"  <limit name=\"max_outgoing_bytes\">1000000000</limit>\n"
		"  <limit name=\"max_message_size\">1000000000</limit>\n"
		"  <limit name=\"max_message_unix_fds\">1024</limit>\n"
		"  <limit name=\"max_connections_per_user\">100000</limit>\n"
		"  <limit name=\"max_names_per_connection\">50000</limit>\n"
		"  <limit name=\"max_replies_per_connection\">50000</limit>\n"
		"  <limit name=\"auth_timeout\">3600000</limit>\n"
		"</busconfig>\n",
		sock);
	if (fclose(f) != 0)
		return -errno;
	if (pipe2(pfds, O_CLOEXEC) < 0)
		return -errno;
	snprintf(arg_conf, sizeof(arg_conf), "--config-file=%s", conf);
	snprintf(arg_addr, sizeof(arg_addr), "--print-address=%d", pfds[1]);
	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0) {
		r = -errno;
		close(pfds[0]);
		close(pfds[1]);
		return r;
	}
	if (d->pid == 0)
		pp_child_exec(log, argv, pfds[1]);
	close(pfds[1]);
	/* the address is printed once the daemon listens */
	pfd = (struct pollfd){ pfds[0], POLLIN, 0 };
	while (got < sizeof(d->address) - 1 && !memchr(d->address, '\n', got)) {
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(pfds[0], d->address + got, sizeof(d->address) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pfds[0]);
	d->address[got] = 0;
	if (!strchr(d->address, '\n')) {
		pp_skip("dbus-daemon: did not start (see below)");
		pp_dbus_log_tail(log);
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
		return -ECONNREFUSED;
	}
	*strchr(d->address, '\n') = 0;
	d->up = true;
	return 0;
}

static int pp_machine_id(char out[33])
{
	char buf[64] = { 0 };
	int fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n >= 32 && strspn(buf, "0123456789abcdef") >= 32) {
		memcpy(out, buf, 32);
	} else {
		/* any 128-bit hex id will do for a private broker */
		memcpy(out, "0123456789abcdef0123456789abcdef", 32);
	}
	out[32] = 0;
	return 0;
}

#define PP_POLICY_BATCH "bt" "a(btbs)" "a(btssssuutt)" "a(btssssuutt)"
#define PP_POLICY "a(u(" PP_POLICY_BATCH "))" "a(buu(" PP_POLICY_BATCH "))" "a(ss)" "bs"

/* dbus-broker's policy (the launcher's export format): allow connect, own, send, receive. */
static int pp_broker_policy(sd_bus_message *m)
{
	int r;

	r = sd_bus_message_open_container(m, 'v', "(" PP_POLICY ")");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', PP_POLICY);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(u(" PP_POLICY_BATCH "))");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "u(" PP_POLICY_BATCH ")");
	/* uid -1: the batch for every uid */
	if (r >= 0)
		r = sd_bus_message_append(m, "u", (uint32_t)-1);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', PP_POLICY_BATCH);
	/* connect; own (prefix ""); send and receive: any name/path/iface/member/type, any fds */
	if (r >= 0)
		r = sd_bus_message_append(m, PP_POLICY_BATCH, 1, (uint64_t)1, 1, 1, (uint64_t)1, 1,
					  "", 1, 1, (uint64_t)1, "", "", "", "", 0, 0,
					  (uint64_t)0, UINT64_MAX, 1, 1, (uint64_t)1, "", "", "", "", 0,
					  0, (uint64_t)0, UINT64_MAX);
	for (int i = 0; i < 3 && r >= 0; i++)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(buu(" PP_POLICY_BATCH "))");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(ss)");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	/* no AppArmor; a session bus */
	if (r >= 0)
		r = sd_bus_message_append(m, "bs", 0, "session");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static int pp_broker_start(struct pp_dbus *d)
{
	char bin[4096], log[4096], fdarg[16], mid[33];
	char *argv[] = { bin, "--controller", fdarg, "--machine-id", mid,
			 "--max-bytes", "100000000000000", "--max-fds", "25000000000000",
			 "--max-matches", "5000000000", "--max-objects", "1000000000", NULL };
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = -1, ctl[2] = { -1, -1 }, r;

	if (pp_which("dbus-broker", bin, sizeof(bin)) < 0) {
		pp_skip("dbus-broker: not installed (install the dbus-broker package)");
		return -ENOENT;
	}
	snprintf(log, sizeof(log), "%s/dbus-broker.log", pp_tmpdir());
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dbus-broker.sock", pp_tmpdir()) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 256) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ctl) < 0) {
		r = -errno;
		goto out;
	}
	pp_machine_id(mid);
	snprintf(fdarg, sizeof(fdarg), "%d", ctl[1]);
	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0) {
		r = -errno;
		goto out;
	}
	if (d->pid == 0)
		pp_child_exec(log, argv, ctl[1]);
	close(ctl[1]);
	ctl[1] = -1;

	r = sd_bus_new(&d->controller);
	if (r >= 0)
		r = sd_bus_set_fd(d->controller, ctl[0], ctl[0]);
	if (r >= 0) {
		ctl[0] = -1; /* owned by the bus now */
		r = sd_bus_start(d->controller);
	}
	if (r >= 0)
		r = sd_bus_message_new_method_call(d->controller, &m, NULL, "/org/bus1/DBus/Broker",
						   "org.bus1.DBus.Broker", "AddListener");
	if (r >= 0)
		r = sd_bus_message_append(m, "oh", "/org/bus1/DBus/Listener/0", lfd);
	if (r >= 0)
		r = pp_broker_policy(m);
	if (r >= 0)
		r = sd_bus_call(d->controller, m, 10ULL * 1000000ULL, &err, NULL);
	if (r < 0) {
		pp_skip("dbus-broker: controller AddListener failed: %s%s%s", strerror(-r),
			sd_bus_error_is_set(&err) ? " " : "", sd_bus_error_is_set(&err) ? err.name : "");
		pp_dbus_log_tail(log);
		goto out;
	}
	snprintf(d->address, sizeof(d->address), "unix:path=%s", sa.sun_path);
	pp_fd_register(sd_bus_get_fd(d->controller));
	d->up = true;
out:
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	if (lfd >= 0)
		close(lfd);
	if (ctl[0] >= 0)
		close(ctl[0]);
	if (ctl[1] >= 0)
		close(ctl[1]);
	if (r < 0 && d->pid > 0) {
		d->controller = sd_bus_flush_close_unref(d->controller);
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	return r;
}

static void pp_dbus_stop(struct pp_dbus *d)
{
	if (d->controller) {
		pp_fd_unregister(sd_bus_get_fd(d->controller));
		d->controller = sd_bus_flush_close_unref(d->controller);
	}
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
	}
	d->pid = 0;
	d->up = false;
}

void pp_sdbus_teardown(void)
{
	pp_dbus_stop(&pp_daemon);
	pp_dbus_stop(&pp_broker);
}

int pp_sdbus_add(struct pp_system *out, unsigned max, unsigned which)
{
	struct pp_dbus *d[2] = { &pp_daemon, &pp_broker };
	unsigned bits[2] = { PP_SYS_DBUS_DAEMON, PP_SYS_DBUS_BROKER };
	unsigned n = 0;

	for (unsigned i = 0; i < 2; i++) {
		int r;

		if (!(which & bits[i]))
			continue;
		/* brokers are pinned like kdbus-broker: with client and server when they share a CPU */
		r = i == 0 ? pp_daemon_start(d[i]) : pp_broker_start(d[i]);
		if (r < 0) {
			if (r != -ENOENT)
				pp_warn("%s: cannot start: %s", d[i]->name, strerror(-r));
			continue;
		}
		for (unsigned k = 0; k < 3 && n < max; k++) {
			static const unsigned kinds[] = { PP_PAYLOAD_VEC, PP_PAYLOAD_MEMFD,
							  PP_PAYLOAD_MEMFD_FRESH };

			if (kinds[k] == PP_PAYLOAD_MEMFD_FRESH &&
			    !(pp_opts.payloads & PP_PAYLOAD_MEMFD_FRESH))
				continue;
			out[n++] = (struct pp_system){ .name = d[i]->name, .backend = "sd-bus",
						       .mode = "sync", .payload = kinds[k],
						       .baseline = true, .ops = &pp_sdbus_ops,
						       .ctx = d[i] };
		}
	}
	return (int)n;
}

#else /* !HAVE_SDBUS */

void pp_sdbus_teardown(void)
{
}

int pp_sdbus_add(struct pp_system *out, unsigned max, unsigned which)
{
	if (which & PP_SYS_DBUS_DAEMON)
		pp_skip("dbus-daemon: built without libsystemd (sd-bus); install libsystemd-dev and rebuild");
	if (which & PP_SYS_DBUS_BROKER)
		pp_skip("dbus-broker: built without libsystemd (sd-bus); install libsystemd-dev and rebuild");
	return 0;
}

#endif
