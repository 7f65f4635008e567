// berth_plan_start: stage 1 (namespaces, id maps) when it is needed, and the order of stage 2's
// steps.
// See berth_plan.h for the contract. Everything after the fork is async-signal-safe.
#include "internal.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_type(const berth_namespace *ns, int type) { return ns->type == type; }

static const berth_namespace *find_ns(const berth_plan *p, int type) {
    for (size_t i = 0; i < p->namespaces_count; i++)
        if (is_type(&p->namespaces[i], type)) return &p->namespaces[i];
    return NULL;
}

static int read_last_cap(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 63;  // unknown: PR_CAPBSET_DROP's EINVAL ends the loop instead
    char buf[16];
    ssize_t n = BERTH_NOINTR(read(fd, buf, sizeof buf - 1));
    close(fd);
    int v = 0, any = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++, any = 1)
        v = v * 10 + (buf[i] - '0');
    return any && v < 64 ? v : 63;
}

// A daemon may have 0-2 closed, so the socketpair can land there; stdio setup would then
// overwrite it. Move such fds up before anything else.
static int lift_fd(const berth_plan *p, int fd) {
    if (fd < 0 || fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return fd;
    if (fd != p->process.stdio[0] && fd != p->process.stdio[1] && fd != p->process.stdio[2])
        close(fd);
    return moved;
}

// Keeps only the fds the plan names: the caller's other fds (listening sockets, the parent
// end of the sync socket) must not live on in a container init blocked on its exec fifo.
static void close_unplanned(berth_child *c) {
    const berth_process *pr = &c->plan->process;
    int keep[BERTH_MAX_PRESERVE_FDS + 8];
    size_t n = 0;
    keep[n++] = c->sync_fd;
    keep[n++] = c->state_dir_fd;
    keep[n++] = c->console_fd;
    for (int i = 0; i < 3; i++) keep[n++] = pr->stdio[i];
    for (size_t i = 0; i < pr->preserve_fds_count; i++) keep[n++] = pr->preserve_fds[i];
    if (berth_close_fds_except(keep, n) < 0)
        berth_child_fail(c, errno, NULL, "close inherited file descriptors", NULL);
}

static void join_namespaces(berth_child *c) {
    const berth_plan *p = c->plan;
    int fds[16];
    size_t count = p->namespaces_count;
    if (count > 16) berth_child_fail(c, E2BIG, "linux.namespaces", "too many entries", NULL);
    for (size_t i = 0; i < count; i++) {
        const berth_namespace *ns = &p->namespaces[i];
        fds[i] = -1;
        if (ns->path == NULL) continue;
        fds[i] = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) berth_child_fail(c, errno, ns->field, "open namespace ", ns->path, NULL);
    }
    // user first (it grants the capabilities for the rest), mnt last (it changes our root,
    // and later paths are the host's).
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < count; i++) {
            const berth_namespace *ns = &p->namespaces[i];
            if (fds[i] < 0) continue;
            int user = ns->type == CLONE_NEWUSER, mnt = ns->type == CLONE_NEWNS;
            if ((pass == 0 && !user) || (pass == 1 && (user || mnt)) || (pass == 2 && !mnt))
                continue;
            if (setns(fds[i], ns->type) < 0)
                berth_child_fail(c, errno, ns->field, "join namespace ", ns->path, NULL);
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

// Creates the plan's new namespaces but those in `made` (the clone made them), and cgroup,
// which waits until the process is in its cgroups.
static void create_namespaces(berth_child *c, int made) {
    const berth_plan *p = c->plan;
    const berth_namespace *user = find_ns(p, CLONE_NEWUSER);
    if ((user != NULL && user->path == NULL) || p->wait_for_id_maps) {
        const char *field = user != NULL ? user->field : "linux.namespaces";
        if (unshare(CLONE_NEWUSER) < 0)
            berth_child_fail(c, errno, field, "create user namespace", NULL);
        if (p->wait_for_id_maps) {
            berth_child_send(c, BERTH_SYNC_ID_MAPS, 0, NULL, 0);
            berth_child_expect(c, BERTH_SYNC_ID_MAPS_DONE, NULL, 0);
            // Raw syscalls: glibc's set*id wrappers signal every thread it knows of, and
            // after a raw fork it still believes the caller's threads exist.
            if (syscall(SYS_setresgid, 0, 0, 0) < 0)
                berth_child_fail(c, errno, field, "become gid 0 in the user namespace", NULL);
            if (syscall(SYS_setresuid, 0, 0, 0) < 0)
                berth_child_fail(c, errno, field, "become uid 0 in the user namespace", NULL);
        }
    }
    int flags = 0;
    for (size_t i = 0; i < p->namespaces_count; i++) {
        const berth_namespace *ns = &p->namespaces[i];
        if (ns->path != NULL || ns->type == CLONE_NEWUSER || ns->type == CLONE_NEWCGROUP ||
            (ns->type & made))
            continue;
        flags |= ns->type;
    }
    if (flags != 0 && unshare(flags) < 0)
        berth_child_fail(c, errno, "linux.namespaces", "create namespaces", NULL);
}

static void set_hostname_and_limits(berth_child *c) {
    const berth_plan *p = c->plan;
    if (p->hostname != NULL && sethostname(p->hostname, berth_strlen(p->hostname)) < 0)
        berth_child_fail(c, errno, "hostname", "set hostname ", p->hostname, NULL);
    if (p->domainname != NULL && setdomainname(p->domainname, berth_strlen(p->domainname)) < 0)
        berth_child_fail(c, errno, "domainname", "set domain name ", p->domainname, NULL);
    for (size_t i = 0; i < p->process.rlimits_count; i++) {
        const berth_rlimit *r = &p->process.rlimits[i];
        struct rlimit64 lim = {.rlim_cur = r->soft, .rlim_max = r->hard};
        if (syscall(SYS_prlimit64, 0, r->resource, &lim, NULL) < 0)
            berth_child_fail(c, errno, r->field, "set resource limit", NULL);
    }
}

// Writes "0" to each v1 `tasks` file, which moves this thread alone, and closes them.
static void enter_v1_cgroups(berth_child *c, const int *tasks, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (BERTH_NOINTR(write(tasks[i], "0", 1)) != 1)
            berth_child_fail(c, errno, "linux.cgroupsPath", "enter a v1 cgroup", NULL);
    for (size_t i = 0; i < count; i++) close(tasks[i]);
}

// GO: the parent has set the cgroup up (and oom_score_adj) and sends the state for hooks. In
// CREATE mode the v1 cgroups' `tasks` files come with it. Received once; later calls return.
void berth_child_await_go(berth_child *c) {
    if (c->got_go) return;
    const berth_plan *p = c->plan;
    int tasks[BERTH_SYNC_MAX_FDS];
    size_t count = p->mode == BERTH_PLAN_CREATE ? BERTH_SYNC_MAX_FDS : 0;
    int64_t value = 0;
    if (p->state_buffer != NULL && p->state_buffer_size > 0) {
        ssize_t n = berth_child_expect_fds(c, BERTH_SYNC_INIT_GO, p->state_buffer,
                                           p->state_buffer_size - 1, tasks, &count, &value);
        p->state_buffer[n] = '\0';
    } else {
        char scratch[1];
        berth_child_expect_fds(c, BERTH_SYNC_INIT_GO, scratch, 0, tasks, &count, &value);
    }
    c->got_go = 1;
    c->start_with_go = value == 1;
    enter_v1_cgroups(c, tasks, count);
}

static __attribute__((noreturn)) void stage2_create(berth_child *c) {
    const berth_plan *p = c->plan;
    if (setsid() < 0) berth_child_fail(c, errno, NULL, "setsid", NULL);
    set_hostname_and_limits(c);
    c->saved_umask = umask(0);  // device and file modes must be exactly the plan's

    // The parent makes the cgroup and sets oom_score_adj meanwhile. Nothing of the container
    // runs before GO, which comes by the first mount of the cgroup at the latest.
    berth_child_prepare_rootfs(c);
    berth_child_await_go(c);
    const berth_namespace *cg = find_ns(p, CLONE_NEWCGROUP);
    if (cg != NULL && cg->path == NULL && unshare(CLONE_NEWCGROUP) < 0)
        berth_child_fail(c, errno, cg->field, "create cgroup namespace", NULL);
    if (p->run_create_hooks) {
        berth_child_send(c, BERTH_SYNC_HOOKS, 0, NULL, 0);
        berth_child_expect(c, BERTH_SYNC_HOOKS_DONE, NULL, 0);
    }
    berth_child_pivot(c);
    berth_child_mask_paths(c);

    berth_child_stash_preserved(c);
    berth_child_setup_stdio(c);
    berth_child_chdir_and_resolve(c);

    // Waiting on the fifo, the init outlives the caller (`create` returns); waiting for START,
    // it must not: if the caller dies, EOF ends it.
    int wait_for_start = p->start_on_sync && !c->start_with_go;
    if (!wait_for_start) prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    berth_child_send(c, BERTH_SYNC_READY, 0, NULL, 0);
    if (wait_for_start) {
        berth_child_expect(c, BERTH_SYNC_START, NULL, 0);
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    }
    close(c->sync_fd);
    c->sync_fd = -1;
    c->after_ready = 1;

    if (p->exec_fifo_name != NULL) {
        int fifo = BERTH_NOINTR(openat(c->state_dir_fd, p->exec_fifo_name, O_WRONLY | O_CLOEXEC));
        if (fifo < 0) berth_child_fail(c, errno, NULL, "open exec fifo", NULL);
        if (BERTH_NOINTR(write(fifo, "0", 1)) != 1)
            berth_child_fail(c, errno, NULL, "write exec fifo", NULL);
        close(fifo);
    }
    if (c->state_dir_fd >= 0) close(c->state_dir_fd);
    c->state_dir_fd = -1;

    berth_child_run_start_hooks(c);
    berth_child_set_identity(c);
    berth_child_exec(c);
}

static __attribute__((noreturn)) void stage2_exec(berth_child *c) {
    berth_child_await_go(c);
    if (setsid() < 0) berth_child_fail(c, errno, NULL, "setsid", NULL);
    c->saved_umask = umask(0);  // only way to read it; restored in set_identity
    umask(c->saved_umask);
    if (c->state_dir_fd >= 0) close(c->state_dir_fd);
    c->state_dir_fd = -1;
    berth_child_stash_preserved(c);
    berth_child_setup_stdio(c);
    berth_child_chdir_and_resolve(c);
    // The exec'd process must not die with the caller's thread.
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    berth_child_set_identity(c);
    berth_child_exec(c);
}

// Enters the plan's cgroup (see berth_cgroup_entry) and closes the entry files, whatever their
// numbers: one left at 0-2 would otherwise become the container's stdio.
static void enter_cgroup(berth_child *c, int born_in_v2) {
    const berth_cgroup_entry *e = &c->plan->cgroup;
    if (!born_in_v2 && e->v2_procs >= 0 && BERTH_NOINTR(write(e->v2_procs, "0", 1)) != 1)
        berth_child_fail(c, errno, "linux.cgroupsPath", "enter the v2 cgroup", NULL);
    if (e->v2_directory >= 0) close(e->v2_directory);
    if (e->v2_procs >= 0) close(e->v2_procs);
    enter_v1_cgroups(c, e->v1_tasks, e->v1_tasks_count);
}

// What every child path does first: take its fds out of 0-2, enter the cgroup, reset the
// caller's signal dispositions, close what the plan does not name, and note what later steps
// need to know.
static void begin_child(berth_child *cp, const berth_plan *p, int born_in_v2) {
    berth_child c;
    c.plan = p;
    c.after_ready = 0;
    c.got_go = 0;
    c.start_with_go = 0;
    c.in_exec = 0;
    c.root_fd = -1;
    c.proc_fd_ok = 0;
    c.preserved_count = 0;
    c.exe[0] = '\0';
    c.saved_umask = 022;
    c.sync_fd = lift_fd(p, p->sync_fd);
    c.state_dir_fd = lift_fd(p, p->state_dir_fd);
    c.console_fd = lift_fd(p, p->process.console_socket);
    enter_cgroup(&c, born_in_v2);
    berth_reset_signals();
    close_unplanned(&c);
    if (p->process.preserve_fds_count > BERTH_MAX_PRESERVE_FDS)
        berth_child_fail(&c, E2BIG, "process.preserve_fds", "too many entries", NULL);
    c.last_cap = read_last_cap();
    c.have_mntns = find_ns(p, CLONE_NEWNS) != NULL;
    c.host_root = p->rootfs == NULL || berth_streq(p->rootfs, "/");
    *cp = c;
}

static __attribute__((noreturn)) void stage1(const berth_plan *p, int born_in_v2) {
    berth_child c;
    begin_child(&c, p, born_in_v2);
    join_namespaces(&c);
    if (p->mode == BERTH_PLAN_CREATE) create_namespaces(&c, 0);

    pid_t pid = berth_raw_fork(CLONE_PARENT, NULL);
    if (pid < 0) berth_child_fail(&c, errno, NULL, "clone container init", NULL);
    if (pid == 0) {
        // Our parent is now the caller. If it is gone already, getppid() changed under the
        // prctl and nobody would ever reap us.
        pid_t ppid = getppid();
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != ppid) _exit(1);
        if (p->mode == BERTH_PLAN_EXEC) stage2_exec(&c);
        stage2_create(&c);
    }
    berth_child_send(&c, BERTH_SYNC_INIT_PID, pid, NULL, 0);
    _exit(0);
}

// What the clone of an init without a stage 1 creates: only its pid namespace, which no later
// unshare can give the init itself. The init makes the rest (see direct_init). -1 when a stage 1
// is needed: to join a namespace by path (a pid namespace applies only to children), or to set
// up a user namespace before the others, which it must own.
static int direct_clone_flags(const berth_plan *p) {
    if (p->mode != BERTH_PLAN_CREATE || p->wait_for_id_maps) return -1;
    int flags = 0;
    for (size_t i = 0; i < p->namespaces_count; i++) {
        const berth_namespace *ns = &p->namespaces[i];
        if (ns->path != NULL || ns->type == CLONE_NEWUSER) return -1;
        if (ns->type == CLONE_NEWPID) flags |= CLONE_NEWPID;
    }
    return flags;
}

// The init makes its other namespaces itself: a network namespace alone takes the kernel about
// half a millisecond, which the parent, back from clone at once, spends making the cgroup.
static __attribute__((noreturn)) void direct_init(const berth_plan *p, int born_in_v2) {
    berth_child c;
    begin_child(&c, p, born_in_v2);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(1);
    create_namespaces(&c, CLONE_NEWPID);
    stage2_create(&c);
}

// fork(), starting the child in the plan's v2 cgroup when it has one (clone3 CLONE_INTO_CGROUP,
// Linux 5.7). *born_in_v2 tells the child whether it is there already.
static pid_t fork_into_cgroup(const berth_plan *p, unsigned long flags, int *born_in_v2) {
    *born_in_v2 = 0;
    if (p->cgroup.v2_directory >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = flags | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)p->cgroup.v2_directory;
        // Raw, like berth_raw_fork: no atfork handlers.
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0) {
            *born_in_v2 = 1;
            return pid;
        }
        // Older kernels have no clone3 (ENOSYS) or no CLONE_INTO_CGROUP (EINVAL). On any
        // failure the plain fork runs: a refusal of the namespaces repeats there, and one of
        // the cgroup comes back named from the child's write to cgroup.procs.
    }
    return berth_raw_fork(flags, NULL);
}

pid_t berth_plan_start(const berth_plan *plan) {
    if (plan == NULL || plan->sync_fd < 0 || plan->process.argv == NULL ||
        plan->process.argv[0] == NULL ||
        (plan->mode != BERTH_PLAN_CREATE && plan->mode != BERTH_PLAN_EXEC)) {
        errno = EINVAL;
        return -1;
    }
    // Block every signal across the fork so no caller handler runs in the child before it
    // has reset the dispositions.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // Each fork copies the caller's page tables, and a Swift caller has many: without a stage 1
    // there is one fork instead of two.
    int direct = direct_clone_flags(plan);
    int born_in_v2 = 0;
    pid_t pid = fork_into_cgroup(plan, direct >= 0 ? (unsigned long)direct : 0, &born_in_v2);
    if (pid == 0) {
        if (direct >= 0) direct_init(plan, born_in_v2);
        stage1(plan, born_in_v2);
    }
    int saved = errno;
    if (pid > 0 && direct >= 0) {
        // What stage 1 would have said: the init is the child itself.
        if (berth_sync_send(plan->sync_fd, BERTH_SYNC_INIT_PID, pid, NULL, 0) < 0) {
            saved = errno;
            kill(pid, SIGKILL);
            BERTH_NOINTR(waitpid(pid, NULL, 0));
            pid = -1;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}
