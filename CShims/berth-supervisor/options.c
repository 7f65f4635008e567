/* The command line berthd uses. Every refusal is one line naming the flag (exit status 2). */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MAX_BYTES_DEFAULT (10ull * 1024 * 1024)
#define LOG_MAX_BYTES_LIMIT (1ull << 50)   /* a PiB: anything above is a mistake */
#define LOG_KEEP_DEFAULT 3
#define LOG_KEEP_LIMIT 1000
/* Room for "/runtime.log" and friends after the task dir in one PATH_MAX buffer. */
#define PATH_ROOM (PATH_MAX - 64)

static const char usage[] =
    "usage: berth-supervisor --task-dir DIR --berth PATH --runtime-root ROOT --bundle BUNDLE\n"
    "                        --container-id ID [--log-max-bytes N] [--log-keep K] [--lock-fd N]\n"
    "                        [--gate-fd N]\n";

static int refuse(const char *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(const char *flag, const char *fmt, ...)
{
    char line[ERROR_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    fprintf(stderr, "berth-supervisor: %s: %s\n", flag, line);
    return -1;
}

/* Decimal digits only (no sign, no spaces, no hex), at most `limit`. */
static int parse_number(const char *flag, const char *text, uint64_t limit, uint64_t *value)
{
    uint64_t result = 0;
    if (*text == '\0')
        return refuse(flag, "empty value");
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return refuse(flag, "\"%s\" is not a whole number", text);
        if (result > (limit - (uint64_t)(*p - '0')) / 10)
            return refuse(flag, "%s is too large (at most %llu)", text, (unsigned long long)limit);
        result = result * 10 + (uint64_t)(*p - '0');
    }
    *value = result;
    return 0;
}

/* The supervisor chdirs to "/", so every path must be absolute. */
static int check_path(const char *flag, const char *path, mode_t want_type)
{
    struct stat st;
    if (path[0] != '/')
        return refuse(flag, "\"%s\" is not an absolute path", path);
    if (strlen(path) > PATH_ROOM)
        return refuse(flag, "path is longer than %d bytes", PATH_ROOM);
    if (want_type == 0)
        return 0;
    if (stat(path, &st) != 0)
        return refuse(flag, "%s: %s", path, strerror(errno));
    if ((st.st_mode & S_IFMT) != want_type)
        return refuse(flag, "%s: not a %s", path, want_type == S_IFDIR ? "directory" : "regular file");
    if (want_type == S_IFREG && access(path, X_OK) != 0)
        return refuse(flag, "%s: not executable", path);
    return 0;
}

/* The characters berth allows in container ids; a leading '-' would read as a flag. */
static int check_container_id(const char *id)
{
    size_t length = strlen(id);
    if (length == 0 || length > 1024)
        return refuse("--container-id", "must be 1 to 1024 characters");
    if (id[0] == '-' || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return refuse("--container-id", "\"%s\" is not a valid container id", id);
    for (const char *p = id; *p; p++) {
        char c = *p;
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || c == '_' || c == '+' || c == '-' || c == '.';
        if (!ok)
            return refuse("--container-id", "invalid character in \"%.64s\": use letters, digits and _ + - .", id);
    }
    return 0;
}

enum fd_kind { FD_FILE_OR_DIRECTORY, FD_PIPE };

/* An fd berthd passed on (`text` NULL: none, -1). */
static int parse_inherited_fd(const char *flag, const char *text, enum fd_kind kind, int *fd)
{
    uint64_t value;
    struct stat st;
    *fd = -1;
    if (text == NULL)
        return 0;
    if (parse_number(flag, text, 1023, &value) < 0)
        return -1;
    int open_fd = value > 2 && fstat((int)value, &st) == 0;
    if (kind == FD_PIPE && !(open_fd && S_ISFIFO(st.st_mode)))
        return refuse(flag, "%s is not an open pipe above stderr", text);
    if (kind == FD_FILE_OR_DIRECTORY && !(open_fd && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))))
        return refuse(flag, "%s is not an open file or directory above stderr", text);
    *fd = (int)value;
    return 0;
}

struct flag {
    const char *name;
    const char **value;
};

int parse_options(int argc, char **argv, struct options *options)
{
    const char *max_bytes = NULL, *keep = NULL, *lock = NULL, *gate = NULL;
    memset(options, 0, sizeof *options);
    struct flag flags[] = {
        {"--task-dir", &options->task_dir},
        {"--berth", &options->berth},
        {"--runtime-root", &options->runtime_root},
        {"--bundle", &options->bundle},
        {"--container-id", &options->container_id},
        {"--log-max-bytes", &max_bytes},
        {"--log-keep", &keep},
        {"--lock-fd", &lock},
        {"--gate-fd", &gate},
    };
    const size_t flag_count = sizeof flags / sizeof flags[0];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        /* "--flag value" or "--flag=value" */
        const char *equals = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t name_length = equals ? (size_t)(equals - arg) : strlen(arg);
        struct flag *match = NULL;
        for (size_t f = 0; f < flag_count; f++) {
            if (strlen(flags[f].name) == name_length && strncmp(flags[f].name, arg, name_length) == 0)
                match = &flags[f];
        }
        if (match == NULL) {
            if (arg[0] == '-')
                return refuse(arg, "unknown flag");
            return refuse(arg, "unexpected argument");
        }
        if (*match->value != NULL)
            return refuse(match->name, "given more than once");
        if (equals) {
            *match->value = equals + 1;
        } else {
            if (i + 1 >= argc)
                return refuse(match->name, "missing value");
            *match->value = argv[++i];
        }
    }

    for (size_t f = 0; f < flag_count; f++) {
        if (flags[f].value == &max_bytes || flags[f].value == &keep || flags[f].value == &lock
            || flags[f].value == &gate)
            continue;
        if (*flags[f].value == NULL)
            return refuse(flags[f].name, "required");
    }
    /* Behind a gate the bundle is still being made: `berth run` checks it once the go comes. */
    if (check_path("--task-dir", options->task_dir, S_IFDIR) < 0
        || check_path("--berth", options->berth, S_IFREG) < 0
        || check_path("--runtime-root", options->runtime_root, 0) < 0
        || check_path("--bundle", options->bundle, gate ? 0 : S_IFDIR) < 0
        || check_container_id(options->container_id) < 0)
        return -1;

    options->log_max_bytes = LOG_MAX_BYTES_DEFAULT;
    if (max_bytes && parse_number("--log-max-bytes", max_bytes, LOG_MAX_BYTES_LIMIT, &options->log_max_bytes) < 0)
        return -1;
    if (options->log_max_bytes == 0)
        return refuse("--log-max-bytes", "must be at least 1");
    uint64_t keep_value = LOG_KEEP_DEFAULT;
    if (keep && parse_number("--log-keep", keep, LOG_KEEP_LIMIT, &keep_value) < 0)
        return -1;
    options->log_keep = (unsigned)keep_value;
    if (parse_inherited_fd("--lock-fd", lock, FD_FILE_OR_DIRECTORY, &options->lock_fd) < 0
        || parse_inherited_fd("--gate-fd", gate, FD_PIPE, &options->gate_fd) < 0)
        return -1;
    if (options->gate_fd >= 0 && options->gate_fd == options->lock_fd)
        return refuse("--gate-fd", "%s is the --lock-fd", gate);
    return 0;
}

int format(char *buffer, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buffer, size, fmt, args);
    va_end(args);
    return (n < 0 || (size_t)n >= size) ? -1 : n;
}
