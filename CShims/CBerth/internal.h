// Helpers shared by the CBerth sources. Not part of the public API (not in include/).
// Everything declared here that runs in a forked child is async-signal-safe: raw syscalls and
// stack buffers only.
#ifndef BERTH_INTERNAL_H
#define BERTH_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "include/berth_plan.h"
#include "include/berth_sys.h"

#define BERTH_HIDDEN __attribute__((visibility("hidden")))

// Upper bound on process.preserve_fds, so the child can keep them in a stack array.
#define BERTH_MAX_PRESERVE_FDS 1024

// Retries a syscall expression while it fails with EINTR.
#define BERTH_NOINTR(expr)                                                                     \
    ({                                                                                         \
        __typeof__(expr) berth_r_;                                                             \
        do { berth_r_ = (expr); } while (berth_r_ == -1 && errno == EINTR);                    \
        berth_r_;                                                                              \
    })

// ---- strings on caller-provided buffers (child-safe) ----------------------------------------

typedef struct berth_buf {
    char *p;
    size_t cap;
    size_t len;
} berth_buf;

BERTH_HIDDEN void berth_buf_init(berth_buf *b, char *storage, size_t cap);
BERTH_HIDDEN void berth_buf_str(berth_buf *b, const char *s);
BERTH_HIDDEN void berth_buf_num(berth_buf *b, long long v);
BERTH_HIDDEN size_t berth_strlen(const char *s);
BERTH_HIDDEN int berth_streq(const char *a, const char *b);
// Writes "/proc/self/fd/N" into out (at least 32 bytes).
BERTH_HIDDEN void berth_fd_path(char *out, int fd);
// Untranslated errno text from glibc's static table; never allocates.
BERTH_HIDDEN const char *berth_errtext(int err);

// ---- the child's context ------------------------------------------------------------------

typedef struct berth_child {
    const berth_plan *plan;
    int sync_fd;            // -1 once closed (after READY in CREATE mode)
    int state_dir_fd;
    int console_fd;
    int after_ready;        // nobody listens on sync any more: report on fd 2
    int got_go;             // INIT_GO received (berth_child_await_go)
    int start_with_go;      // GO said to go on after READY: no START will come
    int in_exec;            // failing execve itself: exit 126 on EACCES, as shells do
    int last_cap;           // /proc/sys/kernel/cap_last_cap, read before pivot_root
    int have_mntns;
    int host_root;          // rootfs is "/": never replace existing nodes
    int root_fd;            // O_PATH fd of the rootfs (before pivot) or "/" (after)
    int proc_fd_ok;         // "/proc/self/fd/N" usable for mounting onto fds
    mode_t saved_umask;
    int preserved[BERTH_MAX_PRESERVE_FDS];  // preserve_fds stashed at high numbers
    size_t preserved_count;
    char exe[4096];         // resolved process.args[0]
} berth_child;

// Reports a failure and exits. The message is field ": " + pieces (NULL-terminated) + ": " +
// strerror(err). Before READY it goes to the parent as BERTH_SYNC_ERROR; after, to fd 2.
BERTH_HIDDEN __attribute__((noreturn, sentinel)) void
berth_child_fail(berth_child *c, int err, const char *field, ...);

// Sends a message or fails the child.
BERTH_HIDDEN void berth_child_send(berth_child *c, uint32_t type, int64_t value,
                                   const void *payload, uint32_t length);
// Waits for a message of `type`, or fails the child (EOF or an unexpected type).
BERTH_HIDDEN ssize_t berth_child_expect(berth_child *c, uint32_t type, void *payload,
                                        size_t capacity);
// The same, taking the files that come with it (see berth_sync_recv_fds) and the header's value.
BERTH_HIDDEN ssize_t berth_child_expect_fds(berth_child *c, uint32_t type, void *payload,
                                            size_t capacity, int *fds, size_t *fds_count,
                                            int64_t *value);

// Waits for INIT_GO unless it came already, and enters the v1 cgroups it brings.
BERTH_HIDDEN void berth_child_await_go(berth_child *c);

// ---- rootfs steps (plan_rootfs.c) -----------------------------------------------------------

BERTH_HIDDEN void berth_child_prepare_rootfs(berth_child *c);   // steps 5-7
BERTH_HIDDEN void berth_child_pivot(berth_child *c);            // step 9
BERTH_HIDDEN void berth_child_mask_paths(berth_child *c);       // step 10

// ---- process steps (plan_process.c) ---------------------------------------------------------

BERTH_HIDDEN void berth_child_stash_preserved(berth_child *c);
BERTH_HIDDEN void berth_child_setup_stdio(berth_child *c);       // step 11
BERTH_HIDDEN void berth_child_chdir_and_resolve(berth_child *c); // step 12
BERTH_HIDDEN void berth_child_run_start_hooks(berth_child *c);   // step 15
BERTH_HIDDEN void berth_child_set_identity(berth_child *c);      // step 16
BERTH_HIDDEN __attribute__((noreturn)) void berth_child_exec(berth_child *c);  // step 17

// Closes every fd >= 3 not in keep[] (n entries, any order, may contain -1 or duplicates).
BERTH_HIDDEN int berth_close_fds_except(int *keep, size_t n);
// Resets every signal disposition to default and unblocks all signals.
BERTH_HIDDEN void berth_reset_signals(void);
// fork() without atfork handlers; safe in a child of a multi-threaded process.
BERTH_HIDDEN pid_t berth_raw_fork(unsigned long extra_flags, int *pidfd);

#endif
