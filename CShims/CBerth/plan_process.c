// Stage 2's process steps: stdio or terminal, cwd and executable lookup, startContainer hooks,
// identity and privileges, fds and execve. Also the fork/fd/signal helpers the child path and
// berth_spawn share. Async-signal-safe throughout.
#include "internal.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pid_t berth_raw_fork(unsigned long extra_flags, int *pidfd) {
    // Raw clone skips glibc's atfork handlers, which may take locks held by other threads.
    return (pid_t)syscall(SYS_clone, SIGCHLD | extra_flags, 0, pidfd, NULL, 0);
}

void berth_reset_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &sa, NULL);  // glibc's reserved signals fail with EINVAL: fine
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int berth_close_fds_except(int *keep, size_t n) {
    for (size_t i = 1; i < n; i++) {  // insertion sort: n is small
        int v = keep[i];
        size_t j = i;
        for (; j > 0 && keep[j - 1] > v; j--) keep[j] = keep[j - 1];
        keep[j] = v;
    }
    unsigned int lo = 3;
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < (int)lo) continue;
        if ((unsigned int)keep[i] > lo && syscall(SYS_close_range, lo, keep[i] - 1, 0) < 0)
            return -1;
        lo = (unsigned int)keep[i] + 1;
    }
    return (int)syscall(SYS_close_range, lo, ~0U, 0);
}

void berth_child_stash_preserved(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    size_t n = pr->preserve_fds_count;
    // Above every final slot 3..3+n-1, so placing them later cannot clobber a source.
    for (size_t i = 0; i < n; i++) {
        int fd = fcntl(pr->preserve_fds[i], F_DUPFD_CLOEXEC, (int)(3 + n));
        if (fd < 0) berth_child_fail(c, errno, "process.preserve_fds", "keep descriptor", NULL);
        c->preserved[i] = fd;
    }
    c->preserved_count = n;
}

static void setup_terminal(berth_child *c) {
    if (c->console_fd < 0)
        berth_child_fail(c, EINVAL, "process.terminal", "no console socket", NULL);
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) berth_child_fail(c, errno, "process.terminal", "open /dev/ptmx", NULL);
    int unlock = 0;
    unsigned int index = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &index) < 0)
        berth_child_fail(c, errno, "process.terminal", "set up pty master", NULL);
    char path[64];
    berth_buf b;
    berth_buf_init(&b, path, sizeof path);
    berth_buf_str(&b, "/dev/pts/");
    berth_buf_num(&b, index);
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) berth_child_fail(c, errno, "process.terminal", "open ", path, NULL);
    if (berth_send_fd(c->console_fd, master, path) < 0)
        berth_child_fail(c, errno, "process.terminal", "send pty master to console socket", NULL);
    close(master);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0) berth_child_fail(c, errno, "process.terminal", "dup2 pty", NULL);
    if (slave > 2) close(slave);
    if (ioctl(0, TIOCSCTTY, 0) < 0)
        berth_child_fail(c, errno, "process.terminal", "make pty the controlling terminal", NULL);
}

void berth_child_setup_stdio(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    if (pr->terminal) {
        setup_terminal(c);
    } else {
        // Copy up first: stdio[1] may be 0, or stdio[0] may be 2.
        int high[3];
        for (int i = 0; i < 3; i++) {
            high[i] = pr->stdio[i] >= 0 ? fcntl(pr->stdio[i], F_DUPFD_CLOEXEC, 3) : -1;
            if (pr->stdio[i] >= 0 && high[i] < 0)
                berth_child_fail(c, errno, "process.stdio", "duplicate descriptor", NULL);
        }
        for (int i = 0; i < 3; i++) {
            if (high[i] < 0) continue;
            if (dup2(high[i], i) < 0) berth_child_fail(c, errno, "process.stdio", "dup2", NULL);
            close(high[i]);
        }
    }
    if (c->console_fd >= 0) close(c->console_fd);
    c->console_fd = -1;
}

static int is_executable(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EACCES;
        return -1;
    }
    return access(path, X_OK);
}

static void resolve_exe(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    const char *name = pr->argv[0];
    berth_buf b;
    if (strchr(name, '/') != NULL) {
        berth_buf_init(&b, c->exe, sizeof c->exe);
        berth_buf_str(&b, name);
        if (is_executable(c->exe) < 0)
            berth_child_fail(c, errno, "process.args[0]", "executable ", name, NULL);
        return;
    }
    const char *path = DEFAULT_PATH;
    for (const char *const *e = pr->envp; e != NULL && *e != NULL; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    int err = ENOENT;
    while (1) {
        const char *end = strchr(path, ':');
        size_t len = end != NULL ? (size_t)(end - path) : berth_strlen(path);
        char dir[4096];
        if (len == 0) {
            dir[0] = '.';
            dir[1] = '\0';
        } else if (len < sizeof dir) {
            memcpy(dir, path, len);
            dir[len] = '\0';
        } else {
            dir[0] = '\0';
        }
        if (dir[0] != '\0') {
            berth_buf_init(&b, c->exe, sizeof c->exe);
            berth_buf_str(&b, dir);
            berth_buf_str(&b, "/");
            berth_buf_str(&b, name);
            if (is_executable(c->exe) == 0) return;
            if (errno == EACCES) err = EACCES;  // found but not runnable: say so
        }
        if (end == NULL) break;
        path = end + 1;
    }
    berth_child_fail(c, err, "process.args[0]", "executable \"", name, "\" not found in PATH", NULL);
}

void berth_child_chdir_and_resolve(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    const char *cwd = pr->cwd != NULL ? pr->cwd : "/";
    // No magic links: a leaked fd must not make /proc/self/fd/N a way out of the root.
    int fd = berth_openat2(AT_FDCWD, cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                           RESOLVE_NO_MAGICLINKS);
    if (fd < 0 || fchdir(fd) < 0) berth_child_fail(c, errno, "process.cwd", "chdir ", cwd, NULL);
    close(fd);
    resolve_exe(c);
}

static void run_hook(berth_child *c, const berth_hook *h) {
    const berth_plan *p = c->plan;
    const char *state = p->state_buffer != NULL ? p->state_buffer : "";
    size_t len = berth_strlen(state);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) berth_child_fail(c, errno, h->field, "pipe", NULL);
    // The whole state fits in the pipe, so the hook need not read it and cannot block us.
    if (len > 65536) fcntl(pipefd[1], F_SETPIPE_SZ, (int)len);
    for (size_t off = 0; off < len;) {
        ssize_t n = BERTH_NOINTR(write(pipefd[1], state + off, len - off));
        if (n < 0) berth_child_fail(c, errno, h->field, "write state to hook", NULL);
        off += (size_t)n;
    }
    close(pipefd[1]);
    pid_t pid = berth_raw_fork(0, NULL);
    if (pid < 0) berth_child_fail(c, errno, h->field, "fork hook ", h->path, NULL);
    if (pid == 0) {
        if (dup2(pipefd[0], 0) < 0) _exit(127);
        syscall(SYS_close_range, 3, ~0U, 0);
        execve(h->path, (char *const *)h->argv, (char *const *)h->envp);
        c->after_ready = 1;
        c->sync_fd = -1;
        berth_child_fail(c, errno, h->field, "exec hook ", h->path, NULL);
    }
    close(pipefd[0]);
    int timeout = h->timeout_seconds > 0 ? h->timeout_seconds * 1000 : -1;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0 && timeout >= 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int rc = BERTH_NOINTR(poll(&pfd, 1, timeout));
        if (rc == 0) {
            kill(pid, SIGKILL);
            BERTH_NOINTR(waitpid(pid, NULL, 0));
            berth_child_fail(c, ETIMEDOUT, h->field, "hook ", h->path, NULL);
        }
    }
    if (pidfd >= 0) close(pidfd);
    int status = 0;
    if (BERTH_NOINTR(waitpid(pid, &status, 0)) < 0)
        berth_child_fail(c, errno, h->field, "wait for hook ", h->path, NULL);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    char num[24];
    berth_buf b;
    berth_buf_init(&b, num, sizeof num);
    berth_buf_num(&b, WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    berth_child_fail(c, 0, h->field, "hook ", h->path,
                     WIFEXITED(status) ? " exited with status " : " killed by signal ", num, NULL);
}

void berth_child_run_start_hooks(berth_child *c) {
    for (size_t i = 0; i < c->plan->start_hooks_count; i++) run_hook(c, &c->plan->start_hooks[i]);
}

static void load_seccomp(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    struct sock_fprog prog = {
        .len = pr->seccomp_filter_len,
        .filter = (struct sock_filter *)pr->seccomp_filter,
    };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, pr->seccomp_flags, &prog) < 0)
        berth_child_fail(c, errno, "linux.seccomp", "load filter", NULL);
}

void berth_child_set_identity(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    const berth_capabilities *caps = &pr->capabilities;
    int seccomp = pr->seccomp_filter != NULL && pr->seccomp_filter_len > 0;
    // Without no_new_privileges the filter needs CAP_SYS_ADMIN, which we still have here.
    if (seccomp && !pr->no_new_privileges) load_seccomp(c);
    if (pr->set_capabilities) {
        for (int cap = 0; cap <= c->last_cap; cap++) {
            if (caps->bounding & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                berth_child_fail(c, errno, "process.capabilities.bounding", "drop capability", NULL);
        }
    }
    // Raw syscalls: glibc's wrappers would try to signal the caller's other threads.
    if (syscall(SYS_setgroups, pr->additional_gids_count, pr->additional_gids) < 0 &&
        !(errno == EPERM && pr->additional_gids_count == 0))
        berth_child_fail(c, errno, "process.user.additionalGids", "setgroups", NULL);
    if (syscall(SYS_setresgid, pr->gid, pr->gid, pr->gid) < 0)
        berth_child_fail(c, errno, "process.user.gid", "setresgid", NULL);
    if (pr->set_capabilities && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        berth_child_fail(c, errno, "process.capabilities", "keep capabilities", NULL);
    if (syscall(SYS_setresuid, pr->uid, pr->uid, pr->uid) < 0)
        berth_child_fail(c, errno, "process.user.uid", "setresuid", NULL);
    if (pr->set_capabilities) {
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2];
        for (int i = 0; i < 2; i++) {
            data[i].effective = (uint32_t)(caps->effective >> (32 * i));
            data[i].permitted = (uint32_t)(caps->permitted >> (32 * i));
            data[i].inheritable = (uint32_t)(caps->inheritable >> (32 * i));
        }
        if (syscall(SYS_capset, &hdr, data) < 0)
            berth_child_fail(c, errno, "process.capabilities", "capset", NULL);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
            berth_child_fail(c, errno, "process.capabilities.ambient", "clear", NULL);
        for (int cap = 0; cap <= c->last_cap; cap++) {
            if (!(caps->ambient & (1ULL << cap))) continue;
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                berth_child_fail(c, errno, "process.capabilities.ambient", "raise capability",
                                 NULL);
        }
    }
    umask(pr->set_umask ? pr->umask : c->saved_umask);
    if (pr->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        berth_child_fail(c, errno, "process.noNewPrivileges", "set no_new_privs", NULL);
    // Last, so the filter does not see (or refuse) our own setup syscalls.
    if (seccomp && pr->no_new_privileges) load_seccomp(c);
}

void berth_child_exec(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    unsigned int n = (unsigned int)c->preserved_count;
    // The sync socket must survive until execve (EXEC mode reports a failed exec on it) but
    // not sit in a slot a preserved fd is about to take.
    if (c->sync_fd >= 0 && c->sync_fd < (int)(3 + n)) {
        int moved = fcntl(c->sync_fd, F_DUPFD_CLOEXEC, (int)(3 + n));
        c->sync_fd = moved;  // -1: errors go to fd 2
    }
    for (unsigned int i = 0; i < n; i++)
        if (dup2(c->preserved[i], (int)(3 + i)) < 0)
            berth_child_fail(c, errno, "process.preserve_fds", "place descriptor", NULL);
    // Close-on-exec rather than close: nothing else of ours reaches the program either way.
    if (syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        berth_child_fail(c, errno, NULL, "mark descriptors close-on-exec", NULL);
    c->in_exec = 1;
    execve(c->exe, (char *const *)pr->argv, (char *const *)pr->envp);
    berth_child_fail(c, errno, "process.args[0]", "exec ", c->exe, NULL);
}
