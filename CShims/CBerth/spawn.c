// berth_spawn, the project's one way to run a helper process (hooks, tools), and the pidfd,
// prctl, openat2 and renameat2 wrappers.
#include "internal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int berth_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned int)flags;
    // The kernel rejects a mode without O_CREAT/O_TMPFILE.
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = resolve;
    int fd;
    do {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd == -1 && errno == EINTR);
    return fd;
}

int berth_renameat2(const char *from, const char *to, unsigned int flags) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

int berth_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int berth_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int berth_pidfd_wait(int pidfd, int *status, int options) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do {
        rc = (int)syscall(SYS_waitid, P_PIDFD, pidfd, &info, options | WEXITED, NULL);
    } while (rc == -1 && errno == EINTR);
    if (rc < 0) return -1;
    if (info.si_pid == 0) {  // WNOHANG and nothing to report yet
        errno = EAGAIN;
        return -1;
    }
    int s = info.si_status;
    int out;
    switch (info.si_code) {
    case CLD_EXITED: out = (s & 0xff) << 8; break;
    case CLD_KILLED: out = s & 0x7f; break;
    case CLD_DUMPED: out = (s & 0x7f) | 0x80; break;
    case CLD_STOPPED:
    case CLD_TRAPPED: out = ((s & 0xff) << 8) | 0x7f; break;
    case CLD_CONTINUED: out = 0xffff; break;
    default: errno = EPROTO; return -1;
    }
    if (status != NULL) *status = out;
    return 0;
}

int berth_set_child_subreaper(int on) { return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0); }

int berth_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

int berth_has_dynamic_loader(void) { return getauxval(AT_BASE) != 0; }

// ---- berth_spawn ---------------------------------------------------------------------------

static const struct {
    int type;
    const char *name;
} ns_order[] = {
    // user first: it grants the capabilities to join the others; mnt last: it moves our root.
    {CLONE_NEWUSER, "user"}, {CLONE_NEWIPC, "ipc"},       {CLONE_NEWUTS, "uts"},
    {CLONE_NEWNET, "net"},   {CLONE_NEWPID, "pid"},       {CLONE_NEWCGROUP, "cgroup"},
    {CLONE_NEWTIME, "time"}, {CLONE_NEWNS, "mnt"},
};
#define NS_COUNT (sizeof ns_order / sizeof ns_order[0])

static __attribute__((noreturn)) void spawn_fail(int errfd) {
    int err = errno;
    ssize_t ignored = write(errfd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

static int lift(int fd) {
    if (fd < 0 || fd > 2) return fd;
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static __attribute__((noreturn)) void spawn_child(const berth_spawn_request *r, int errfd) {
    berth_reset_signals();
    errfd = lift(errfd);
    if (errfd < 0) _exit(127);
    int src[3] = {r->stdin_fd, r->stdout_fd, r->stderr_fd};
    // /dev/null from our own mount namespace, before we may leave it.
    for (int i = 0; i < 3; i++) {
        if (src[i] < 0) src[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (src[i] < 0) spawn_fail(errfd);
    }
    int exefd = -1;
    if (r->join_namespaces_of > 0) {
        exefd = open(r->path, O_PATH | O_CLOEXEC);
        if (exefd < 0) spawn_fail(errfd);
        exefd = lift(exefd);
        int nsfd[NS_COUNT];
        for (size_t i = 0; i < NS_COUNT; i++) {
            nsfd[i] = -1;
            if (!(r->join_namespace_types & ns_order[i].type)) continue;
            char path[64];
            berth_buf b;
            berth_buf_init(&b, path, sizeof path);
            berth_buf_str(&b, "/proc/");
            berth_buf_num(&b, r->join_namespaces_of);
            berth_buf_str(&b, "/ns/");
            berth_buf_str(&b, ns_order[i].name);
            nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
            if (nsfd[i] < 0) spawn_fail(errfd);
        }
        for (size_t i = 0; i < NS_COUNT; i++) {
            if (nsfd[i] < 0) continue;
            if (setns(nsfd[i], ns_order[i].type) < 0) spawn_fail(errfd);
            close(nsfd[i]);
        }
    }
    int high[3];
    for (int i = 0; i < 3; i++) {
        high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
        if (high[i] < 0) spawn_fail(errfd);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(high[i], i) < 0) spawn_fail(errfd);
    int inherited = 0;
    while (inherited < BERTH_SPAWN_INHERITED_MAX && r->inherited_fds[inherited] > 2) inherited++;
    if (inherited > 0) {
        // Every source goes above the final slots 3..3+n-1 first, so placing one cannot
        // clobber another, nor our own error pipe or executable.
        int floor = 3 + inherited, high[BERTH_SPAWN_INHERITED_MAX];
        if (errfd < floor && (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, floor)) < 0) _exit(127);
        if (exefd >= 0 && exefd < floor && (exefd = fcntl(exefd, F_DUPFD_CLOEXEC, floor)) < 0) spawn_fail(errfd);
        for (int i = 0; i < inherited; i++)
            if ((high[i] = fcntl(r->inherited_fds[i], F_DUPFD_CLOEXEC, floor)) < 0) spawn_fail(errfd);
        for (int i = 0; i < inherited; i++)
            if (dup2(high[i], 3 + i) < 0) spawn_fail(errfd);  // dup2 clears close-on-exec
    }
    if (r->cwd != NULL && chdir(r->cwd) < 0) spawn_fail(errfd);
    if (r->new_session && setsid() < 0) spawn_fail(errfd);
    int keep[2 + BERTH_SPAWN_INHERITED_MAX] = {errfd, exefd};
    for (int i = 0; i < inherited; i++) keep[2 + i] = 3 + i;
    if (berth_close_fds_except(keep, 2 + (size_t)inherited) < 0) spawn_fail(errfd);
    char *const *argv = (char *const *)r->argv;
    char *const *envp = (char *const *)r->envp;
    if (exefd >= 0) {
        syscall(SYS_execveat, exefd, "", argv, envp, AT_EMPTY_PATH);
        // A #! script is run through /dev/fd/N, which a close-on-exec fd would not survive.
        if (errno == ENOENT && fcntl(exefd, F_SETFD, 0) == 0)
            syscall(SYS_execveat, exefd, "", argv, envp, AT_EMPTY_PATH);
    } else {
        execve(r->path, argv, envp);
    }
    spawn_fail(errfd);
}

struct spawn_start {
    const berth_spawn_request *request;
    int errpipe[2];
};

static __attribute__((noreturn)) int spawn_entry(void *arg) {
    struct spawn_start *start = arg;
    close(start->errpipe[0]);
    spawn_child(start->request, start->errpipe[1]);
}

// Starts spawn_child. Without namespaces to join (joining a user namespace needs a memory of
// its own), the child shares our memory until it execs, as posix_spawn's does, and we wait for
// that: copying a large caller's page tables (berthd's, for every supervisor) is what a fork
// costs. The child then runs on a stack of its own and only makes syscalls.
static pid_t spawn_clone(struct spawn_start *start, int *child_pidfd) {
    if (start->request->join_namespaces_of > 0) {
        pid_t pid = berth_raw_fork(CLONE_PIDFD, child_pidfd);
        if (pid == 0) spawn_entry(start);
        return pid;
    }
    const size_t stack_size = 128 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    pid_t pid = clone(spawn_entry, (char *)stack + stack_size,
                      CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, start, child_pidfd);
    int saved = errno;
    munmap(stack, stack_size);
    errno = saved;
    return pid;
}

pid_t berth_spawn(const berth_spawn_request *request, int *pidfd) {
    if (request == NULL || request->path == NULL || request->argv == NULL) {
        errno = EINVAL;
        return -1;
    }
    static char *const empty_env[] = {NULL};
    berth_spawn_request r = *request;
    if (r.envp == NULL) r.envp = (const char *const *)empty_env;
    struct spawn_start start = {.request = &r};
    int *errpipe = start.errpipe;
    if (pipe2(errpipe, O_CLOEXEC) < 0) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int child_pidfd = -1;
    pid_t pid = spawn_clone(&start, &child_pidfd);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errpipe[1]);
    if (pid < 0) {
        close(errpipe[0]);
        errno = saved;
        return -1;
    }
    // Exec closes the pipe (EOF); a failure writes its errno first.
    int err = 0;
    ssize_t n;
    do {
        n = read(errpipe[0], &err, sizeof err);
    } while (n == -1 && errno == EINTR);
    close(errpipe[0]);
    if (n == (ssize_t)sizeof err) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        if (child_pidfd >= 0) close(child_pidfd);
        errno = err;
        return -1;
    }
    if (pidfd != NULL) *pidfd = child_pidfd;
    else if (child_pidfd >= 0) close(child_pidfd);
    return pid;
}
