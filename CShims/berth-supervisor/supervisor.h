/* berth-supervisor: one small process per berthd task. It owns the task's stdio, rotates its
 * logs, reaps it and records how it ended in the task dir, so a task never depends on berthd
 * being alive. C with fixed buffers only (no heap churn): it must stay far under 2 MiB. */
#ifndef BERTH_SUPERVISOR_H
#define BERTH_SUPERVISOR_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ERROR_MAX 512     /* one error line for berthd */
#define MESSAGE_MAX 4096  /* the runtime's message kept in exit.json */

/* ---- options.c: the command line berthd uses ---- */

struct options {
    const char *task_dir;
    const char *berth;
    const char *runtime_root;
    const char *bundle;
    const char *container_id;
    uint64_t log_max_bytes;
    unsigned log_keep;
    int lock_fd;   /* the run's lock berthd holds for us (--lock-fd), or -1 */
    int gate_fd;   /* a pipe: "g" from berthd before the runtime runs (--gate-fd), or -1 */
};

/* Fills `options` or prints one line naming the flag and returns -1 (exit status 2).
 * Returns 1 when --help was printed. */
int parse_options(int argc, char **argv, struct options *options);

/* ---- daemon.c: leaving the caller ---- */

/* Forks. The parent waits for the child's verdict and exits 0 or 1 (never returns); the child
 * becomes the daemon and gets back the fd on which it must call report_setup. A `lock_fd` of
 * 0 or more stays open in the daemon (as fd 4, close-on-exec): the daemon holds it to its end.
 * A `*gate_fd` of 0 or more stays open too (moved to fd 5, close-on-exec). */
int daemonize(int lock_fd, int *gate_fd);
/* Tells the waiting parent "ok" (error == NULL) or the error line, then closes the fd. */
void report_setup(int fd, const char *error);
/* A numeric field of /proc/PID/stat (4 = ppid, 22 = start time: with the pid, it names one
 * process for good). Returns 0 or -1. */
#define STAT_PPID 4
#define STAT_START_TIME 22
int read_stat_field(pid_t pid, int field, unsigned long long *value);

/* ---- logfile.c: stdout and stderr of the task, rotated by size ---- */

struct rotating_log {
    int dirfd;
    const char *name;   /* "stdout" or "stderr" inside the task dir */
    int fd;
    uint64_t size;
    uint64_t max_bytes;
    unsigned keep;      /* rotated files kept: NAME.1 .. NAME.keep; 0 = truncate in place */
};

int log_open(struct rotating_log *log, int dirfd, const char *name, uint64_t max_bytes,
             unsigned keep, char *error, size_t error_size);
/* Appends everything (rotating on the way); what the disk refuses is dropped, never blocks. */
void log_append(struct rotating_log *log, const char *data, size_t length);
/* Removes NAME.N for N > keep, left by an earlier run with a larger --log-keep. */
void log_remove_beyond_keep(int dirfd, const char *name, unsigned keep);

/* ---- json.c: the few JSON bits the supervisor reads and writes ---- */

/* Appends `length` bytes as a quoted JSON string (invalid UTF-8 becomes U+FFFD).
 * Returns the new length of `out`, or `size` when it did not fit. */
size_t json_append_string(char *out, size_t used, size_t size, const char *text, size_t length);
/* The "msg" of the last JSON line in `text` whose "level" is "error" (else of the last line
 * with a "msg"), decoded into `out` (NUL-terminated, at most size-1 bytes). Returns its length,
 * 0 when there is none. */
size_t json_last_error_message(const char *text, size_t length, char *out, size_t size);
/* temp file, (fsync,) rename (, fsync dir): never seen half-written. `durable` adds the fsyncs;
 * files that only mean something in this boot (a pid, a start marker) go without them, since a
 * reboot makes every task LOST anyway. Returns 0 or -1 with errno set. */
int write_file_atomically(int dirfd, const char *name, const char *data, size_t length, int durable);

/* ---- task.c: run, pump, reap, record ---- */

/* What can fail before berthd is told "ok", part one: task dir, pipes, signalfd. */
int task_prepare(const struct options *options, char *error, size_t error_size);
/* Part two: supervisor.json, which names this daemon. */
int task_record(char *error, size_t error_size);
/* Starts `berth run --detach`. With a gate (berthd's --gate-fd, or -1), berth gets it and
 * waits there itself: "b" before it reads the bundle, "g" before the container's process
 * starts. If berthd withdraws the launch or goes away first, berth removes what it made and
 * exits 75: the run then leaves no record (supervisor.json goes, no exit.json), and a
 * recovering berthd takes it for never started. */
void task_start_runtime(int gate_fd);
/* Runs the container to its end and writes exit.json. Returns the process exit status. */
int task_run(void);

/* snprintf into `buffer`, -1 when it did not fit. */
int format(char *buffer, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
