/* berth-supervisor --task-dir DIR --berth PATH --runtime-root ROOT --bundle BUNDLE
 *                  --container-id ID [--log-max-bytes N] [--log-keep K] [--lock-fd N]
 *                  [--gate-fd N]
 *
 * berthd runs this once per task and waits for it: it returns (0, or 1 with one error line) as
 * soon as the daemon it leaves behind is set up and DIR/supervisor.json names it. The daemon
 * runs `berth run --detach` (with --gate-fd, berth waits on that pipe for berthd's word that the
 * bundle is ready, then that the task is durably admitted; at EOF it leaves without a container),
 * then writes DIR/started; it writes the container's stdout
 * and stderr to DIR/stdout and DIR/stderr (rotated), and writes DIR/exit.json when the
 * container's init has exited. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* fd (if >= 0) moved to `floor` or above, close-on-exec: the new fd, -1 for none, -2 on error. */
static int move_above(int fd, int floor, const char *flag)
{
    if (fd < 0)
        return -1;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (moved < 0) {
        fprintf(stderr, "berth-supervisor: %s: %s\n", flag, strerror(errno));
        return -2;
    }
    close(fd);
    return moved;
}

int main(int argc, char **argv)
{
    /* With 0, 1 or 2 closed, our own pipes would land there and be clobbered by the stdio
     * redirection below. */
    int fd;
    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2) {
    }
    if (fd > 2)
        close(fd);

    struct options options;
    int parsed = parse_options(argc, argv, &options);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;

    /* The run's lock (berthd passes it as fd 3, where the verdict pipe goes): out of the way,
     * above every fd daemonize places. Until our daemon exits it says "a supervisor owns this
     * run" to a berthd recovering from a crash. */
    int lock = move_above(options.lock_fd, 5, "--lock-fd");
    /* Likewise berthd's gate (fd 4), above the lock. */
    int gate = move_above(options.gate_fd, 6, "--gate-fd");
    if (lock == -2 || gate == -2)
        return 1;
    int status_fd = daemonize(lock, &gate);
    char error[ERROR_MAX];
    if (task_prepare(&options, error, sizeof error) < 0) {
        report_setup(status_fd, error);
        return 1;
    }
    /* Behind a gate berth starts first (it waits there for berthd), and our record is written
     * while it starts. Should the record fail, berthd gives up the launch: the gate closes and
     * berth removes what it made. Without a gate nothing may start before the record. */
    if (gate >= 0)
        task_start_runtime(gate);
    if (task_record(error, sizeof error) < 0) {
        report_setup(status_fd, error);
        return 1;
    }
    report_setup(status_fd, NULL);
    if (gate < 0)
        task_start_runtime(-1);
    /* Skip atexit and stdio teardown of libraries we never use. */
    _exit(task_run());
}
