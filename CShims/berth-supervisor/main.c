/* berth-supervisor --task-dir DIR --berth PATH --runtime-root ROOT --bundle BUNDLE
 *                  --container-id ID [--log-max-bytes N] [--log-keep K] [--lock-fd N]
 *
 * berthd runs this once per task and waits for it: it returns (0, or 1 with one error line) as
 * soon as the daemon it leaves behind is set up and DIR/supervisor.json names it. The daemon
 * runs `berth run --detach` (then writes DIR/started), writes the container's stdout
 * and stderr to DIR/stdout and DIR/stderr (rotated), and writes DIR/exit.json when the
 * container's init has exited. */
#include "supervisor.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

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
    int lock = -1;
    if (options.lock_fd >= 0 && (lock = fcntl(options.lock_fd, F_DUPFD_CLOEXEC, 5)) < 0) {
        perror("berth-supervisor: --lock-fd");
        return 1;
    }
    if (lock >= 0)
        close(options.lock_fd);
    int status_fd = daemonize(lock);
    char error[ERROR_MAX];
    if (task_prepare(&options, error, sizeof error) < 0) {
        report_setup(status_fd, error);
        return 1;
    }
    report_setup(status_fd, NULL);
    /* Skip atexit and stdio teardown of libraries we never use. */
    _exit(task_run());
}
