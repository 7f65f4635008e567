/* One task from `berth run --detach` to exit.json: runs the runtime once (create and start in
 * one process: a second start of the berth binary was a good part of a launch), pumps the
 * container's stdout and stderr into rotated files, reaps every orphan it inherits as subreaper
 * and records how the container's init ended. It never deletes a running container: berthd
 * reads its state first. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DRAIN_MILLISECONDS 1000   /* after the init's exit, a stray pipe holder gets this long */
#define RUNTIME_LOG "runtime.log"
#define INIT_PID "init.pid"
#define EXIT_JSON "exit.json"
#define SUPERVISOR_JSON "supervisor.json"
#define STARTED "started"
#define STARTED_TEMPORARY ".started.tmp"   /* write_file_atomically's temporary name for it */
#define EARLY_REAPS 16            /* children reaped before init.pid was read */

enum phase { PHASE_CREATE, PHASE_START, PHASE_RUN };
static const char *const phase_names[] = {"create", "start", "run"};

struct reaped {
    pid_t pid;
    int status;
};

static struct {
    const struct options *options;
    int dirfd;
    struct rotating_log out, err;
    int out_read, err_read;           /* -1 at EOF */
    int signals;                      /* signalfd for SIGCHLD */
    char runtime_log_path[PATH_MAX], init_pid_path[PATH_MAX];

    pid_t runtime;                    /* `berth run --detach` while it runs */
    pid_t init;                       /* the container's init once init.pid is read */
    int init_reaped, init_status;
    struct reaped early[EARLY_REAPS]; /* the init may die before we know its pid */
    unsigned early_count;

    enum phase phase;
    int failed;                       /* create or start failed: the verdict is set */
    int has_status, status;           /* the wait status exit.json reports */
    char message[MESSAGE_MAX];
    size_t message_length;
    char log_error[ERROR_MAX];        /* a log file that could not be made (its output is dropped) */
    off_t runtime_log_mark;           /* runtime.log's size before the current command */

    int draining;
    struct timespec deadline;
    int gated;                        /* berth run waits on berthd's gate */
    int withdrawn;                    /* ... and berthd withdrew the launch: no record at all */
} task = {.dirfd = -1, .out_read = -1, .err_read = -1, .signals = -1};

/* ---- set-up (before berthd is told "ok") ---- */

static int make_pipe(int *read_end, int *write_end, char *error, size_t size)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        format(error, size, "pipe: %s", strerror(errno));
        return -1;
    }
    *read_end = fds[0];
    *write_end = fds[1];
    return 0;
}

static int write_supervisor_json(char *error, size_t size)
{
    char json[1024 + 6 * 1024];
    unsigned long long start_time;
    const char *id = task.options->container_id;
    if (read_stat_field(getpid(), STAT_START_TIME, &start_time) < 0) {
        format(error, size, "/proc/self/stat: cannot read the start time");
        return -1;
    }
    int used = format(json, sizeof json, "{\"pid\":%d,\"startTime\":%llu,\"containerId\":", (int)getpid(), start_time);
    size_t length = json_append_string(json, (size_t)used, sizeof json, id, strlen(id));
    if (used < 0 || length + 3 > sizeof json) {
        format(error, size, "supervisor.json: too long");
        return -1;
    }
    memcpy(json + length, "}\n", 3);
    /* Not fsynced: a pid and start time mean nothing after a reboot. */
    if (write_file_atomically(task.dirfd, SUPERVISOR_JSON, json, length + 2, 0) != 0) {
        format(error, size, "write %s: %s", SUPERVISOR_JSON, strerror(errno));
        return -1;
    }
    return 0;
}

static int out_write = -1, err_write = -1;   /* our copies of the write ends, until the runtime runs */

int task_prepare(const struct options *options, char *error, size_t size)
{
    task.options = options;
    task.dirfd = open(options->task_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (task.dirfd < 0) {
        format(error, size, "--task-dir: %s: %s", options->task_dir, strerror(errno));
        return -1;
    }
    /* Lengths were checked with the options. */
    format(task.runtime_log_path, sizeof task.runtime_log_path, "%s/%s", options->task_dir, RUNTIME_LOG);
    format(task.init_pid_path, sizeof task.init_pid_path, "%s/%s", options->task_dir, INIT_PID);

    /* A verdict or pid left by an earlier run in this dir must not pass for this run's. */
    unlinkat(task.dirfd, EXIT_JSON, 0);
    unlinkat(task.dirfd, INIT_PID, 0);
    unlinkat(task.dirfd, STARTED, 0);

    if (make_pipe(&task.out_read, &out_write, error, size) < 0
        || make_pipe(&task.err_read, &err_write, error, size) < 0)
        return -1;

    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &child, NULL) != 0
        || (task.signals = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        format(error, size, "signalfd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int task_record(char *error, size_t size)
{
    return write_supervisor_json(error, size);
}

/* ---- the gate ---- */

/* `berth run --gate-fd` exits with this when berthd withdrew the launch (EX_TEMPFAIL). */
#define RUNTIME_WITHDRAWN 75

/* berthd withdrew the launch (its checkpoint never became durable, or a kill came first) or
 * died before deciding, and berth removed what it made. Without supervisor.json a recovering
 * berthd takes the run for never started, and starts it once our lock is free. */
static void withdrawn(void)
{
    unlinkat(task.dirfd, SUPERVISOR_JSON, 0);
    unlinkat(task.dirfd, STARTED_TEMPORARY, 0);
}

/* ---- running the runtime ---- */

static off_t runtime_log_size(void)
{
    struct stat st;
    if (fstatat(task.dirfd, RUNTIME_LOG, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    return st.st_size;
}

/* Starts `berth ... COMMAND` with stdin /dev/null and the given stdout/stderr (-1: /dev/null),
 * `gate` (if >= 0) as fd 3, the signal dispositions and mask a fresh process expects. Returns
 * its pid, or -1. */
static pid_t spawn_runtime(char *const argv[], int out, int err, int gate)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t defaults, empty;
    pid_t pid = -1;

    task.runtime_log_mark = runtime_log_size();
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (out >= 0)
        posix_spawn_file_actions_adddup2(&actions, out, 1);
    else
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (err >= 0)
        posix_spawn_file_actions_adddup2(&actions, err, 2);
    else
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (gate >= 0)
        posix_spawn_file_actions_adddup2(&actions, gate, 3);

    posix_spawnattr_init(&attributes);
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGCHLD);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    int rc = posix_spawn(&pid, task.options->berth, &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

static void set_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_message(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(task.message, sizeof task.message, fmt, args);
    va_end(args);
    task.message_length = n < 0 ? 0 : ((size_t)n < sizeof task.message ? (size_t)n : sizeof task.message - 1);
}

/* The runtime's own words: the last error line it logged during this command. */
static void message_from_runtime_log(void)
{
    static char tail[16384];
    task.message_length = 0;
    int fd = openat(task.dirfd, RUNTIME_LOG, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > task.runtime_log_mark) {
        off_t from = task.runtime_log_mark;
        if (st.st_size - from > (off_t)sizeof tail)
            from = st.st_size - (off_t)sizeof tail;   /* a cut first line just fails to parse */
        ssize_t n = pread(fd, tail, (size_t)(st.st_size - from), from);
        if (n > 0)
            task.message_length = json_last_error_message(tail, (size_t)n, task.message, sizeof task.message);
    }
    close(fd);
}

static void describe_status(const char *command, int status)
{
    if (WIFEXITED(status))
        set_message("berth %s exited with status %d", command, WEXITSTATUS(status));
    else
        set_message("berth %s was killed by signal %d", command, WTERMSIG(status));
}

static void begin_drain(void)
{
    if (task.draining)
        return;
    task.draining = 1;
    clock_gettime(CLOCK_MONOTONIC, &task.deadline);
    task.deadline.tv_sec += DRAIN_MILLISECONDS / 1000;
    task.deadline.tv_nsec += (long)(DRAIN_MILLISECONDS % 1000) * 1000000L;
    if (task.deadline.tv_nsec >= 1000000000L) {
        task.deadline.tv_sec++;
        task.deadline.tv_nsec -= 1000000000L;
    }
}

/* create or start failed: the verdict is theirs. The status is of `berth run`. */
static void fail(enum phase phase, const int *status, const char *command)
{
    task.phase = phase;
    task.failed = 1;
    task.has_status = status != NULL;
    if (status) {
        task.status = *status;
        message_from_runtime_log();
        if (task.message_length == 0)
            describe_status(command, *status);
    }
    /* An init we know of must not outlive the verdict: kill it; its reaping starts the drain. */
    if (task.init > 0 && !task.init_reaped)
        kill(task.init, SIGKILL);
    else
        begin_drain();
}

/* init.pid must name a child of ours: `berth run` exited, so its init was reparented here. */
static int read_init_pid(void)
{
    char text[32];
    int fd = openat(task.dirfd, INIT_PID, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        set_message("%s: %s", INIT_PID, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) {
        set_message("%s: empty", INIT_PID);
        return -1;
    }
    text[n] = '\0';
    long pid = 0;
    char *p = text;
    while (*p >= '0' && *p <= '9' && pid <= 100000000L)
        pid = pid * 10 + (*p++ - '0');
    while (*p == '\n' || *p == ' ')
        p++;
    if (p == text || *p != '\0' || pid <= 1 || pid > 100000000L) {
        set_message("%s: not a process id", INIT_PID);
        return -1;
    }
    task.init = (pid_t)pid;
    for (unsigned i = 0; i < task.early_count; i++) {
        if (task.early[i].pid == task.init) {
            task.init_reaped = 1;
            task.init_status = task.early[i].status;
            return 0;
        }
    }
    unsigned long long parent;
    if (read_stat_field(task.init, STAT_PPID, &parent) < 0 || parent != (unsigned long long)getpid()) {
        set_message("%s: process %ld is not a child of the supervisor", INIT_PID, pid);
        task.init = 0;
        return -1;
    }
    return 0;
}

/* The temporary file mark_started renames into place, made while `berth run` works: creating a
 * file (allocating an inode) is the slow part of writing one, and this way it is off the way from
 * the container's start to RUNNING. write_file_atomically reuses it (O_CREAT without O_EXCL). */
static void prepare_started_marker(void)
{
    int fd = openat(task.dirfd, STARTED_TEMPORARY, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0)
        close(fd);
}

/* berthd learns that the task runs (RUNNING) when this file appears (inotify on the run dir).
 * Not fsynced: like supervisor.json it only means something in this boot. */
static void mark_started(void)
{
    char json[64];
    int length = snprintf(json, sizeof json, "{\"initPid\":%d}\n", (int)task.init);
    /* Its stdio is /dev/null: if this fails berthd sees the task go from STARTING to its end. */
    if (length > 0)
        (void)write_file_atomically(task.dirfd, STARTED, json, (size_t)length, 0);
}

/* `berth run --detach` returned. The runtime writes the pid file at the end of create, so a
 * failure with init.pid in place was start's (and run has deleted the container again). */
static void runtime_ended(int status)
{
    if (task.gated && WIFEXITED(status) && WEXITSTATUS(status) == RUNTIME_WITHDRAWN) {
        withdrawn();
        task.withdrawn = 1;
        begin_drain();
        return;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        enum phase phase = faccessat(task.dirfd, INIT_PID, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? PHASE_START : PHASE_CREATE;
        unlinkat(task.dirfd, STARTED_TEMPORARY, 0);
        fail(phase, &status, "run");
        return;
    }
    if (read_init_pid() < 0) {
        unlinkat(task.dirfd, STARTED_TEMPORARY, 0);
        fail(PHASE_CREATE, NULL, "run");
        return;
    }
    task.phase = PHASE_RUN;
    mark_started();
}

/* Reaps every child that ended; only the runtime commands and the init matter. */
static void reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        if (pid == task.runtime) {
            task.runtime = 0;
            runtime_ended(status);
        } else if (task.init > 0 && pid == task.init) {
            task.init_reaped = 1;
            task.init_status = status;
            begin_drain();
        } else if (task.init == 0 && task.early_count < EARLY_REAPS) {
            task.early[task.early_count++] = (struct reaped){pid, status};
        }
    }
}

/* ---- the loop ---- */

/* The log files, made while `berth run` works (making a file is the slow part of writing one):
 * the pipes hold the output meanwhile. A file that cannot be made drops its output, as a full
 * disk does, and exit.json says so. */
static void open_logs(void)
{
    const struct options *o = task.options;
    struct rotating_log *logs[2] = {&task.out, &task.err};
    const char *names[2] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        log_remove_beyond_keep(task.dirfd, names[i], o->log_keep);
        if (log_open(logs[i], task.dirfd, names[i], o->log_max_bytes, o->log_keep, task.log_error, sizeof task.log_error) < 0)
            logs[i]->fd = -1;
    }
}

/* Moves what one pipe holds into its file; closes it at EOF. A few reads, then back to poll. */
static void pump(int *fd, struct rotating_log *log)
{
    static char buffer[32768];
    for (int round = 0; round < 8 && *fd >= 0; round++) {
        ssize_t n = read(*fd, buffer, sizeof buffer);
        if (n > 0) {
            log_append(log, buffer, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        close(*fd);
        *fd = -1;
    }
}

static int milliseconds_left(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (long long)(task.deadline.tv_sec - now.tv_sec) * 1000
                     + (task.deadline.tv_nsec - now.tv_nsec) / 1000000;
    return left <= 0 ? 0 : (int)left + 1;
}

static int verdict_known(void)
{
    if (task.runtime)
        return 0;
    if (task.init > 0 && !task.init_reaped)
        return 0;
    return task.failed || task.withdrawn || (task.phase == PHASE_RUN && task.init_reaped);
}

static int finished(void)
{
    if (!verdict_known() || !task.draining)
        return 0;
    return (task.out_read < 0 && task.err_read < 0) || milliseconds_left() == 0;
}

static int append(char *out, size_t *used, size_t size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(char *out, size_t *used, size_t size, const char *fmt, ...)
{
    if (*used >= size)
        return -1;
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(out + *used, size - *used, fmt, args);
    va_end(args);
    if (n < 0 || (size_t)n >= size - *used)
        return -1;
    *used += (size_t)n;
    return 0;
}

static int write_exit_json(void)
{
    static char json[MESSAGE_MAX * 6 + 6 * 1024 + 512];
    const char *id = task.options->container_id;
    size_t used = 0;
    struct timespec now;
    if (!task.failed) {
        task.has_status = 1;
        task.status = task.init_status;
    }
    append(json, &used, sizeof json, "{\"containerId\":");
    used = json_append_string(json, used, sizeof json, id, strlen(id));
    append(json, &used, sizeof json, ",\"phase\":\"%s\"", phase_names[task.phase]);
    if (task.has_status && WIFEXITED(task.status))
        append(json, &used, sizeof json, ",\"exitCode\":%d,\"signal\":null", WEXITSTATUS(task.status));
    else if (task.has_status && WIFSIGNALED(task.status))
        append(json, &used, sizeof json, ",\"exitCode\":null,\"signal\":%d", WTERMSIG(task.status));
    else
        append(json, &used, sizeof json, ",\"exitCode\":null,\"signal\":null");
    if (task.message_length == 0 && task.log_error[0] != '\0')
        set_message("task output dropped: %s", task.log_error);
    if (task.message_length > 0) {
        append(json, &used, sizeof json, ",\"message\":");
        used = json_append_string(json, used, sizeof json, task.message, task.message_length);
    }
    clock_gettime(CLOCK_REALTIME, &now);
    if (append(json, &used, sizeof json, ",\"finishedAt\":%lld.%06ld}\n", (long long)now.tv_sec, now.tv_nsec / 1000) < 0)
        return -1;   /* cannot happen with these sizes; never write a cut document */
    /* A full disk may clear up: try a few times before giving up. */
    for (int attempt = 0; attempt < 10; attempt++) {
        if (write_file_atomically(task.dirfd, EXIT_JSON, json, used, 1) == 0)
            return 0;
        sleep(1);
    }
    return -1;
}

void task_start_runtime(int gate_fd)
{
    const struct options *o = task.options;
    char *argv[18] = {(char *)o->berth, "--root", (char *)o->runtime_root, "--log", task.runtime_log_path,
                      "--log-format", "json", "run", "--detach", "--bundle", (char *)o->bundle,
                      "--pid-file", task.init_pid_path};
    int count = 13;
    if (gate_fd >= 0) {
        argv[count++] = "--gate-fd";
        argv[count++] = "3";   /* where spawn_runtime puts it */
        task.gated = 1;
    }
    argv[count++] = (char *)o->container_id;
    argv[count] = NULL;
    task.phase = PHASE_CREATE;
    task.runtime = spawn_runtime(argv, out_write, err_write, gate_fd);
    if (gate_fd >= 0)
        close(gate_fd);
    if (task.runtime < 0) {
        task.runtime = 0;
        set_message("run %s: %s", o->berth, strerror(errno));
        fail(PHASE_CREATE, NULL, "run");
    }
    /* From now on only the runtime and the container hold the write ends: EOF means they are done. */
    close(out_write);
    close(err_write);
}

int task_run(void)
{
    if (task.runtime > 0)
        prepare_started_marker();
    open_logs();

    while (!finished()) {
        struct pollfd fds[3];
        nfds_t count = 0;
        fds[count++] = (struct pollfd){.fd = task.signals, .events = POLLIN};
        if (task.out_read >= 0)
            fds[count++] = (struct pollfd){.fd = task.out_read, .events = POLLIN};
        if (task.err_read >= 0)
            fds[count++] = (struct pollfd){.fd = task.err_read, .events = POLLIN};
        int timeout = task.draining && verdict_known() ? milliseconds_left() : -1;
        if (poll(fds, count, timeout) < 0 && errno != EINTR)
            break;
        struct signalfd_siginfo info;
        while (read(task.signals, &info, sizeof info) == (ssize_t)sizeof info) {
        }
        reap();
        pump(&task.out_read, &task.out);
        pump(&task.err_read, &task.err);
    }
    /* What a stray holder already wrote is kept; then its pipes close with us. */
    pump(&task.out_read, &task.out);
    pump(&task.err_read, &task.err);
    if (task.withdrawn)
        return 0;
    return write_exit_json() == 0 ? 0 : 1;
}
