/* Leaving the caller: berthd runs the supervisor and waits for it, so the first process only
 * waits for the daemon's verdict on a pipe and exits; the daemon outlives berthd. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STATUS_FD 3   /* the daemon's end of the verdict pipe, once every other fd is closed */
#define LOCK_FD 4     /* the run's lock from berthd, when it gave one */
#define GATE_FD 5     /* berthd's go, when it gave a gate */

static void write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        length -= (size_t)n;
    }
}

/* The first process: relays the daemon's verdict and exits with it. */
static _Noreturn void wait_for_verdict(int fd)
{
    char verdict[ERROR_MAX + 2];
    size_t used = 0;
    while (used < sizeof verdict) {
        ssize_t n = read(fd, verdict + used, sizeof verdict - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    if (used == 3 && memcmp(verdict, "ok\n", 3) == 0)
        _exit(0);
    if (used == 0) {
        static const char died[] = "berth-supervisor: the supervisor ended during set-up\n";
        write_all(2, died, sizeof died - 1);
        _exit(1);
    }
    write_all(2, "berth-supervisor: ", 18);
    write_all(2, verdict, used);
    if (verdict[used - 1] != '\n')
        write_all(2, "\n", 1);
    _exit(1);
}

static _Noreturn void fail_before_fork(const char *step)
{
    fprintf(stderr, "berth-supervisor: %s: %s\n", step, strerror(errno));
    _exit(1);
}

int daemonize(int lock_fd, int *gate_fd)
{
    int verdict[2];
    if (pipe2(verdict, O_CLOEXEC) != 0)
        fail_before_fork("pipe");
    pid_t pid = fork();
    if (pid < 0)
        fail_before_fork("fork");
    if (pid > 0) {
        close(verdict[1]);
        wait_for_verdict(verdict[0]);
    }

    /* The daemon. Failures from here on travel through the pipe. */
    close(verdict[0]);
    char error[ERROR_MAX];
    error[0] = '\0';
    if (setsid() < 0)
        format(error, sizeof error, "setsid: %s", strerror(errno));
    else if (chdir("/") != 0)
        format(error, sizeof error, "chdir /: %s", strerror(errno));
    /* Orphans of the container (its init once `berth create` exits) become ours to reap. */
    else if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        format(error, sizeof error, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));

    /* stdio to /dev/null, so berthd's pipes see EOF when the first process exits. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
        if (error[0] == '\0')
            format(error, sizeof error, "/dev/null: %s", strerror(errno));
    }
    if (null > 2)
        close(null);
    int fd = verdict[1];
    if (fd != STATUS_FD) {
        if (dup3(fd, STATUS_FD, O_CLOEXEC) < 0) {
            /* Keep the original: the caller still gets a verdict. */
            report_setup(fd, error[0] ? error : "dup3 of the status pipe failed");
            _exit(1);
        }
        close(fd);
        fd = STATUS_FD;
    }
    int first_closed = STATUS_FD + 1;
    if (lock_fd >= 0) {
        /* main moved it above LOCK_FD, so nothing set up here can have landed on it. */
        if (dup3(lock_fd, LOCK_FD, O_CLOEXEC) < 0 && error[0] == '\0')
            format(error, sizeof error, "keep the run's lock: %s", strerror(errno));
        first_closed = LOCK_FD + 1;
    } else {
        close(LOCK_FD);   /* a gate may come next: nothing of ours sits below it */
    }
    if (*gate_fd >= 0) {
        /* Above GATE_FD too (main moved it), so placing it clobbers nothing. */
        if (dup3(*gate_fd, GATE_FD, O_CLOEXEC) < 0 && error[0] == '\0')
            format(error, sizeof error, "keep the gate: %s", strerror(errno));
        *gate_fd = GATE_FD;
        first_closed = GATE_FD + 1;
    }
    /* Nothing else berthd had open may reach the container or pin a file. */
    if (syscall(SYS_close_range, first_closed, ~0u, 0) != 0) {
        for (int other = first_closed; other < 1024; other++)
            close(other);
    }

    /* berthd stops a task by signalling the container, never the supervisor: it must outlive
     * berthd, its process group and its terminal. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);

    if (error[0] != '\0') {
        report_setup(fd, error);
        _exit(1);
    }
    return fd;
}

void report_setup(int fd, const char *error)
{
    if (error == NULL) {
        write_all(fd, "ok\n", 3);
    } else {
        size_t length = strnlen(error, ERROR_MAX - 1);
        char line[ERROR_MAX + 1];
        memcpy(line, error, length);
        /* One line, whatever the error text holds. */
        for (size_t i = 0; i < length; i++)
            if (line[i] == '\n')
                line[i] = ' ';
        line[length] = '\n';
        write_all(fd, line, length + 1);
    }
    close(fd);
}

int read_stat_field(pid_t pid, int wanted, unsigned long long *value)
{
    char path[64], stat[1024];
    if (format(path, sizeof path, "/proc/%d/stat", (int)pid) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return -1;
    stat[n] = '\0';
    /* The command name (field 2) may hold spaces and ')': count fields after the last ')'. */
    char *p = strrchr(stat, ')');
    if (p == NULL)
        return -1;
    p++;
    /* p is before field 3. */
    for (int field = 3; field <= wanted; field++) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return -1;
        if (field == wanted) {
            unsigned long long result = 0;
            if (*p < '0' || *p > '9')
                return -1;
            while (*p >= '0' && *p <= '9')
                result = result * 10 + (unsigned long long)(*p++ - '0');
            *value = result;
            return 0;
        }
        while (*p != ' ' && *p != '\0')
            p++;
    }
    return -1;
}
