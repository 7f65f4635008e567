// Small C entry points for what Swift cannot call directly (variadic syscall/prctl/ioctl,
// fork-then-exec in a multi-threaded process, cmsg handling) and libseccomp compilation.
// Every function returns -1 with errno set on failure unless it says otherwise.
#ifndef BERTH_SYS_H
#define BERTH_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>
#include <sys/signalfd.h>  // for Swift: signalfd is not in the Glibc module

#ifdef __cplusplus
extern "C" {
#endif

// ---- processes -------------------------------------------------------------------------

#define BERTH_SPAWN_INHERITED_MAX 2

typedef struct berth_spawn_request {
    const char *path;          // executable; resolved in the caller's mount namespace
    const char *const *argv;   // NULL-terminated
    const char *const *envp;   // NULL-terminated
    const char *cwd;           // NULL = inherit
    int stdin_fd, stdout_fd, stderr_fd;  // -1 = /dev/null
    pid_t join_namespaces_of;  // 0 = none; otherwise setns into this pid's namespaces (the
    int join_namespace_types;  // CLONE_NEW* mask in join_namespace_types) before execve; the
                               // executable is opened first, so `path` resolves in the caller's
                               // namespaces (OCI createContainer hooks)
    int new_session;           // setsid() in the child
    int inherited_fds[BERTH_SPAWN_INHERITED_MAX];  // each > 2 becomes fd 3, 4, ... in the child,
                               // open across execve (a lock it holds for its life, a pipe); the
                               // list ends at the first entry <= 2. Nothing else is inherited.
} berth_spawn_request;

// fork + execve. Returns the child's pid and stores a pidfd (O_CLOEXEC) in *pidfd.
// A failure before execve (bad path, setns) is reported here as -1/errno, and the child is reaped.
pid_t berth_spawn(const berth_spawn_request *request, int *pidfd);

int berth_pidfd_open(pid_t pid);
int berth_pidfd_send_signal(int pidfd, int signal);
// waitid(P_PIDFD). Returns 0 and fills *status (as waitpid would encode it), or -1/errno.
// With WNOHANG and nothing to report yet: -1 with errno EAGAIN.
int berth_pidfd_wait(int pidfd, int *status, int options);
int berth_set_child_subreaper(int on);
int berth_set_parent_death_signal(int signal);
// 1 when this process was started through a dynamic loader (getauxval(AT_BASE) != 0), 0 when
// it is statically linked. <sys/auxv.h> is not in Swift's Glibc module.
int berth_has_dynamic_loader(void);

// ---- files -----------------------------------------------------------------------------

// openat2 with RESOLVE_* flags (RESOLVE_IN_ROOT = 0x10, RESOLVE_NO_SYMLINKS = 0x04,...).
int berth_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);
// renameat2 of two paths relative to the current directory, with these flags (the kernel's).
#define BERTH_RENAME_NOREPLACE 1u
#define BERTH_RENAME_EXCHANGE 2u
int berth_renameat2(const char *from, const char *to, unsigned int flags);

// ---- terminals -------------------------------------------------------------------------

// Sends `fd` over the AF_UNIX socket `socket` with SCM_RIGHTS, with `name` as the data.
int berth_send_fd(int socket, int fd, const char *name);
// Receives one fd sent with SCM_RIGHTS. Returns the fd (O_CLOEXEC set).
int berth_recv_fd(int socket);
// The pid, uid and gid of the peer of a connected AF_UNIX socket (SO_PEERCRED; struct ucred
// needs _GNU_SOURCE, which Swift's Glibc module does not define).
int berth_peer_credentials(int socket, pid_t *pid, uid_t *uid, gid_t *gid);
// Window size of a tty: ioctl(TIOCGWINSZ / TIOCSWINSZ).
int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols);
int berth_set_winsize(int fd, unsigned short rows, unsigned short cols);

// ---- seccomp ---------------------------------------------------------------------------

enum berth_seccomp_action_kind {
    BERTH_SECCOMP_KILL_THREAD = 0,
    BERTH_SECCOMP_KILL_PROCESS,
    BERTH_SECCOMP_TRAP,
    BERTH_SECCOMP_ERRNO,       // with `errno_value`
    BERTH_SECCOMP_TRACE,       // with `errno_value` as the trace message
    BERTH_SECCOMP_ALLOW,
    BERTH_SECCOMP_LOG,
    BERTH_SECCOMP_NOTIFY,
};

typedef struct berth_seccomp_action {
    int kind;                  // berth_seccomp_action_kind
    uint32_t errno_value;
} berth_seccomp_action;

enum berth_seccomp_op {
    BERTH_SECCOMP_OP_NE = 1, BERTH_SECCOMP_OP_LT, BERTH_SECCOMP_OP_LE, BERTH_SECCOMP_OP_EQ,
    BERTH_SECCOMP_OP_GE, BERTH_SECCOMP_OP_GT, BERTH_SECCOMP_OP_MASKED_EQ,
};

typedef struct berth_seccomp_arg {
    unsigned int index;
    uint64_t value;
    uint64_t value_two;
    int op;                    // berth_seccomp_op
} berth_seccomp_arg;

typedef struct berth_seccomp_rule {
    const char *syscall;       // a name unknown to libseccomp is skipped, as runc does
    berth_seccomp_action action;
    const berth_seccomp_arg *args;
    size_t args_count;
    const char *field;         // "linux.seccomp.syscalls[2]"
} berth_seccomp_rule;

typedef struct berth_seccomp_config {
    berth_seccomp_action default_action;
    const char *const *architectures;   // libseccomp names ("x86_64", "x86", "x32"); NULL-terminated
    const berth_seccomp_rule *rules;
    size_t rules_count;
} berth_seccomp_config;

// Compiles the filter with libseccomp into a BPF program stored in *program (malloc'd; the caller
// frees it) with *length instructions. On failure returns -1 and writes a one-line reason naming
// the field into `error`.
int berth_seccomp_compile(const berth_seccomp_config *config, struct sock_filter **program,
                          size_t *length, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif
#endif
