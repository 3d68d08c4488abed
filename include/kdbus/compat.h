/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file compat.h
 * @brief The compat API: Linux kdbus semantics on an fd, whatever the backend.
 *
 * Code written for Linux kdbus ports by replacing open/ioctl/mmap/munmap/close
 * on kdbus files with the kdbus_ variants below. The fd returned by
 * kdbus_open() is a real fd: poll() reports POLLIN exactly when a message is
 * queued (or messages were lost), and close() of a bus-owner fd ends the bus.
 * Prefer kdbus_close() over close() so the library can release what it keeps
 * beside the fd.
 *
 * The backend is chosen per open: a path inside a kdbusfs mount uses the
 * kernel module; anything else uses the userspace broker. KDBUS_BACKEND
 * (socket, kmod, auto) selects the default root returned by kdbus_root().
 */
#ifndef KDBUS_COMPAT_H
#define KDBUS_COMPAT_H

#include <stddef.h>
#include <sys/types.h>
#include <kdbus/kdbus.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The effective kdbus root directory (holding `control` and one directory
 * per bus): $KDBUS_ROOT if set; otherwise /sys/fs/kdbus for the kmod backend,
 * or $XDG_RUNTIME_DIR/kdbus (else /run/kdbus for root, /tmp/kdbus-\<uid\>
 * otherwise) for the socket backend. With KDBUS_BACKEND=auto (the default)
 * kmod is used when /sys/fs/kdbus/control exists.
 * @return a string owned by the library, valid until the environment changes.
 */
const char *kdbus_root(void);

/**
 * Open a kdbus file: `<root>/control`, a bus's `bus` endpoint or a custom
 * endpoint.
 * @param path  file to open
 * @param flags open(2) flags (O_RDWR | O_CLOEXEC are typical)
 * @return a new fd owned by the caller, or -1 with errno (ENOENT when the bus
 *         does not exist, ESHUTDOWN when it is going away, EOPNOTSUPP when
 *         KDBUS_BACKEND forbids the path's backend).
 */
int kdbus_open(const char *path, int flags);

/**
 * Issue a KDBUS_CMD_* on fd, exactly like ioctl(2) on Linux kdbus.
 * @return 0, or -1 with errno (ENOTTY for unknown commands, EBADFD for
 *         commands not allowed on this handle, and the errno of each command).
 */
int kdbus_ioctl(int fd, unsigned long cmd, void *arg);

/**
 * Map the pool of a connection fd, as mmap(2) on Linux kdbus: read-only
 * (PROT_WRITE fails with EPERM), len at most the pool size (EFAULT).
 * @return the mapping, or MAP_FAILED with errno.
 */
void *kdbus_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/** Unmap a mapping made by kdbus_mmap(). @return 0 or -1 with errno. */
int kdbus_munmap(void *addr, size_t len);

/**
 * Close fd and release what the library holds for it. Closing a bus-owner fd
 * ends the bus; closing a connection fd disconnects it.
 * @return 0 or -1 with errno.
 */
int kdbus_close(int fd);

/** @name One wrapper per command: 0 or a negative errno.
 * Each is kdbus_ioctl(fd, KDBUS_CMD_..., cmd) with the errno returned. @{ */
int kdbus_cmd_bus_make(int fd, struct kdbus_cmd *cmd);                /**< KDBUS_CMD_BUS_MAKE */
int kdbus_cmd_endpoint_make(int fd, struct kdbus_cmd *cmd);           /**< KDBUS_CMD_ENDPOINT_MAKE */
int kdbus_cmd_endpoint_update(int fd, struct kdbus_cmd *cmd);         /**< KDBUS_CMD_ENDPOINT_UPDATE */
int kdbus_cmd_hello(int fd, struct kdbus_cmd_hello *cmd);             /**< KDBUS_CMD_HELLO */
int kdbus_cmd_update(int fd, struct kdbus_cmd *cmd);                  /**< KDBUS_CMD_UPDATE */
int kdbus_cmd_byebye(int fd, struct kdbus_cmd *cmd);                  /**< KDBUS_CMD_BYEBYE */
int kdbus_cmd_free(int fd, struct kdbus_cmd_free *cmd);               /**< KDBUS_CMD_FREE */
int kdbus_cmd_conn_info(int fd, struct kdbus_cmd_info *cmd);          /**< KDBUS_CMD_CONN_INFO */
int kdbus_cmd_bus_creator_info(int fd, struct kdbus_cmd_info *cmd);   /**< KDBUS_CMD_BUS_CREATOR_INFO */
int kdbus_cmd_list(int fd, struct kdbus_cmd_list *cmd);               /**< KDBUS_CMD_LIST */
int kdbus_cmd_send(int fd, struct kdbus_cmd_send *cmd);               /**< KDBUS_CMD_SEND */
int kdbus_cmd_recv(int fd, struct kdbus_cmd_recv *cmd);               /**< KDBUS_CMD_RECV */
int kdbus_cmd_name_acquire(int fd, struct kdbus_cmd *cmd);            /**< KDBUS_CMD_NAME_ACQUIRE */
int kdbus_cmd_name_release(int fd, struct kdbus_cmd *cmd);            /**< KDBUS_CMD_NAME_RELEASE */
int kdbus_cmd_match_add(int fd, struct kdbus_cmd_match *cmd);         /**< KDBUS_CMD_MATCH_ADD */
int kdbus_cmd_match_remove(int fd, struct kdbus_cmd_match *cmd);      /**< KDBUS_CMD_MATCH_REMOVE */
/** @} */

#ifdef __cplusplus
}
#endif

#endif
