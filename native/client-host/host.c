/* native/client-host/host.c: the thin CNI client's executable. It embeds Duktape (Debian's duktape-dev source,
 * compiled in: the executable needs no library on the node) and runs the client's logic, which is TypeScript
 * (plugin/client-main.ts, bundled and lowered to ES5 by scripts/build-client.mjs into client.js.h). This file
 * only gives that code the system calls Duktape lacks: a unix stream socket, reads and writes with a timeout,
 * the environment table, and the hand-over to the full plugin.
 *
 * Why: the client starts for every CNI call, and its start-up is the budget. Duktape starts in ~1/10 of a
 * Bun-compiled executable's CPU, below the Go plugins' (README "Measured").
 *
 * The full plugin (the Bun executable, or the Node script) is `kubenet-full` beside this executable's real
 * path. It is run only when it is owned by root (or by our own uid) and not writable by group or others: the
 * same rule as the koffi cache; otherwise the call fails with a CNI error (code 5) naming the file. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "duktape.h"
#include "client.js.h" /* static const char client_js[]; static const unsigned client_js_len */

extern char **environ;
static char **self_argv;

static const char *errno_name(int err) {
  const char *name = strerrorname_np(err);
  return name ? name : "E?";
}

/* Pushes an Error "WHAT: strerror (ENAME)" with code = "ENAME". */
static void fail_errno_push(duk_context *ctx, const char *what, int err) {
  duk_push_error_object(ctx, DUK_ERR_ERROR, "%s: %s (%s)", what, strerror(err), errno_name(err));
  duk_push_string(ctx, errno_name(err));
  duk_put_prop_string(ctx, -2, "code");
}

static duk_ret_t fail_errno(duk_context *ctx, const char *what, int err) {
  fail_errno_push(ctx, what, err);
  return duk_throw(ctx);
}

static void push_bytes(duk_context *ctx, const void *p, size_t len) {
  void *b = duk_push_fixed_buffer(ctx, len);
  if (len) memcpy(b, p, len);
  duk_push_buffer_object(ctx, -1, 0, len, DUK_BUFOBJ_UINT8ARRAY);
  duk_remove(ctx, -2);
}

static void wait_fd(int fd, short events, int ms) {
  struct pollfd q = {fd, events, 0};
  poll(&q, 1, ms);
}

/* connectUnix(path) -> fd */
static duk_ret_t n_connect(duk_context *ctx) {
  const char *path = duk_require_string(ctx, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return fail_errno(ctx, "connect", ENAMETOOLONG);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(ctx, "socket", errno);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return fail_errno(ctx, "connect", e);
  }
  duk_push_int(ctx, fd);
  return 1;
}

/* writeAll(fd, bytes): a socket gets MSG_NOSIGNAL; a closed stdout/stderr (EPIPE) is ignored. */
static duk_ret_t n_write_all(duk_context *ctx) {
  int fd = duk_require_int(ctx, 0);
  duk_size_t len;
  const char *p = duk_require_buffer_data(ctx, 1, &len);
  while (len > 0) {
    ssize_t n = fd > 2 ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { wait_fd(fd, POLLOUT, 1000); continue; }
      if (errno == EPIPE && fd <= 2) return 0;
      return fail_errno(ctx, fd > 2 ? "send" : "write", errno);
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* readToEnd(fd, limit, idleMs) -> Uint8Array: to EOF, or stops once more than limit bytes arrived; idleMs (>= 0)
 * without a byte is ETIMEDOUT. A closed or absent stdin reads as empty. */
static duk_ret_t n_read_to_end(duk_context *ctx) {
  int fd = duk_require_int(ctx, 0), limit = duk_require_int(ctx, 1), idle = duk_require_int(ctx, 2);
  size_t cap = 16384, len = 0;
  char *buf = malloc(cap);
  if (!buf) return fail_errno(ctx, "malloc", ENOMEM);
  for (;;) {
    if (idle >= 0) {
      struct pollfd q = {fd, POLLIN, 0};
      int r = poll(&q, 1, idle);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) { free(buf); return fail_errno(ctx, "read", ETIMEDOUT); }
    }
    if (len == cap) {
      char *more = realloc(buf, cap * 2);
      if (!more) { free(buf); return fail_errno(ctx, "realloc", ENOMEM); }
      buf = more;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { wait_fd(fd, POLLIN, 1000); continue; }
      int e = errno;
      if (fd == 0 && e == EBADF) break;
      free(buf);
      return fail_errno(ctx, "read", e);
    }
    if (n == 0) break;
    len += (size_t)n;
    if (len > (size_t)limit) break; /* the caller sees more than it allows, and says so */
  }
  push_bytes(ctx, buf, len);
  free(buf);
  return 1;
}

static duk_ret_t n_close(duk_context *ctx) {
  close(duk_require_int(ctx, 0));
  return 0;
}

/* environ() -> [[key, value], ...] in the order the runtime gave them. */
static duk_ret_t n_environ(duk_context *ctx) {
  duk_idx_t arr = duk_push_array(ctx);
  duk_uarridx_t i = 0;
  for (char **e = environ; *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    duk_push_array(ctx);
    duk_push_lstring(ctx, *e, (duk_size_t)(eq - *e));
    duk_put_prop_index(ctx, -2, 0);
    duk_push_string(ctx, eq + 1);
    duk_put_prop_index(ctx, -2, 1);
    duk_put_prop_index(ctx, arr, i++);
  }
  return 1;
}

/* fullPlugin() -> the path of kubenet-full beside this executable; throws if it is missing or unsafe to run. */
static duk_ret_t n_full_plugin(duk_context *ctx) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return fail_errno(ctx, "readlink /proc/self/exe", errno);
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (!slash || (size_t)(slash - self) + sizeof "/kubenet-full" > sizeof self) return fail_errno(ctx, "the full plugin's path", ENAMETOOLONG);
  strcpy(slash, "/kubenet-full");
  struct stat st;
  if (stat(self, &st) < 0) {
    int e = errno;
    duk_push_error_object(ctx, DUK_ERR_ERROR, "the full plugin \"%s\" cannot be used: %s (%s); install kubenet-full beside kubenet", self, strerror(e), errno_name(e));
    return duk_throw(ctx);
  }
  if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022) || !S_ISREG(st.st_mode)) {
    duk_push_error_object(ctx, DUK_ERR_ERROR,
                          "refusing to run the full plugin \"%s\": it must be a regular file owned by root (or uid %u) and not writable by group or others (owner %u, mode %04o)",
                          self, (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    return duk_throw(ctx);
  }
  duk_push_string(ctx, self);
  return 1;
}

/* Makes fd 0 a memfd holding `p` (the stdin bytes already consumed), read from its start. Non-zero: an error
 * object is on the stack. */
static int give_back_stdin(duk_context *ctx, const char *p, size_t len) {
  int mfd = memfd_create("kubenet-stdin", MFD_CLOEXEC);
  if (mfd < 0) {
    fail_errno_push(ctx, "memfd_create", errno);
    return -1;
  }
  while (len > 0) {
    ssize_t n = write(mfd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno_push(ctx, "write (stdin for the full plugin)", errno);
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  if (lseek(mfd, 0, SEEK_SET) < 0 || dup2(mfd, 0) < 0) {
    fail_errno_push(ctx, "dup2 (stdin for the full plugin)", errno);
    return -1;
  }
  return 0;
}

/* execFull(path, stdin, serviceTried): becomes the full plugin with this process's argv and environment (plus
 * KUBENET_SERVICE_TRIED=1 when serviceTried: the client already asked the service). The bytes read from stdin
 * are given back through a memfd; stdin undefined leaves fd 0 as it is (never read). */
static duk_ret_t n_exec_full(duk_context *ctx) {
  const char *path = duk_require_string(ctx, 0);
  if (!duk_is_undefined(ctx, 1)) {
    duk_size_t len;
    const char *p = duk_require_buffer_data(ctx, 1, &len);
    if (give_back_stdin(ctx, p, len) != 0) return duk_throw(ctx);
  }
  if (duk_get_boolean_default(ctx, 2, 0)) setenv("KUBENET_SERVICE_TRIED", "1", 1);
  execv(path, self_argv);
  return fail_errno(ctx, "execv the full plugin", errno);
}

static void fatal(void *udata, const char *msg) {
  (void)udata;
  dprintf(2, "kubenet: fatal: %s\n", msg ? msg : "?");
  _exit(1);
}

int main(int argc, char **argv) {
  (void)argc;
  self_argv = argv;
  duk_context *ctx = duk_create_heap(NULL, NULL, NULL, NULL, fatal);
  if (!ctx) return 1;
  static const duk_function_list_entry fns[] = {
      {"connectUnix", n_connect, 1}, {"writeAll", n_write_all, 2},   {"readToEnd", n_read_to_end, 3},
      {"close", n_close, 1},         {"environ", n_environ, 0},      {"fullPlugin", n_full_plugin, 0},
      {"execFull", n_exec_full, 3},  {NULL, NULL, 0}};
  duk_push_object(ctx);
  duk_put_function_list(ctx, -1, fns);
  duk_push_string(ctx, argv[0] ? argv[0] : "kubenet");
  duk_put_prop_string(ctx, -2, "argv0");
  duk_put_global_string(ctx, "host");
  duk_push_lstring(ctx, client_js, client_js_len);
  duk_push_string(ctx, "kubenet-client.js");
  if (duk_pcompile(ctx, 0) != 0 || duk_pcall(ctx, 0) != 0) {
    dprintf(2, "kubenet: the thin client failed: %s\n", duk_safe_to_stacktrace(ctx, -1));
    return 1;
  }
  duk_get_global_string(ctx, "host");
  duk_get_prop_string(ctx, -1, "exitCode");
  return duk_get_int_default(ctx, -1, 1); /* no heap teardown: the process ends here */
}
