// Compiles an OCI seccomp configuration to a classic BPF program with libseccomp. Runs in the
// caller (it allocates); the child only loads the result.
#include "internal.h"

#include <ctype.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void set_error(char *error, size_t size, const char *fmt, ...) {
    if (error == NULL || size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
}

static int action_value(const berth_seccomp_action *a, uint32_t *out) {
    switch (a->kind) {
    case BERTH_SECCOMP_KILL_THREAD: *out = SCMP_ACT_KILL_THREAD; return 0;
    case BERTH_SECCOMP_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; return 0;
    case BERTH_SECCOMP_TRAP: *out = SCMP_ACT_TRAP; return 0;
    case BERTH_SECCOMP_ERRNO: *out = SCMP_ACT_ERRNO(a->errno_value); return 0;
    case BERTH_SECCOMP_TRACE: *out = SCMP_ACT_TRACE(a->errno_value); return 0;
    case BERTH_SECCOMP_ALLOW: *out = SCMP_ACT_ALLOW; return 0;
    case BERTH_SECCOMP_LOG: *out = SCMP_ACT_LOG; return 0;
    case BERTH_SECCOMP_NOTIFY: *out = SCMP_ACT_NOTIFY; return 0;
    default: return -1;
    }
}

static int compare_op(int op, enum scmp_compare *out) {
    switch (op) {
    case BERTH_SECCOMP_OP_NE: *out = SCMP_CMP_NE; return 0;
    case BERTH_SECCOMP_OP_LT: *out = SCMP_CMP_LT; return 0;
    case BERTH_SECCOMP_OP_LE: *out = SCMP_CMP_LE; return 0;
    case BERTH_SECCOMP_OP_EQ: *out = SCMP_CMP_EQ; return 0;
    case BERTH_SECCOMP_OP_GE: *out = SCMP_CMP_GE; return 0;
    case BERTH_SECCOMP_OP_GT: *out = SCMP_CMP_GT; return 0;
    case BERTH_SECCOMP_OP_MASKED_EQ: *out = SCMP_CMP_MASKED_EQ; return 0;
    default: return -1;
    }
}

// Accepts libseccomp's names ("x86_64") and the OCI spelling ("SCMP_ARCH_X86_64").
static uint32_t arch_token(const char *name) {
    char lower[64];
    const char *s = strncmp(name, "SCMP_ARCH_", 10) == 0 ? name + 10 : name;
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < sizeof lower; i++) lower[i] = (char)tolower((unsigned char)s[i]);
    lower[i] = '\0';
    return seccomp_arch_resolve_name(lower);
}

static int add_rule(scmp_filter_ctx ctx, const berth_seccomp_rule *r, uint32_t action, int nr,
                    char *error, size_t error_size) {
    struct scmp_arg_cmp cmps[6];
    if (r->args_count > 6) {
        set_error(error, error_size, "%s: more than 6 argument conditions for \"%s\"",
                  r->field, r->syscall);
        return -1;
    }
    int repeated = 0;
    for (size_t i = 0; i < r->args_count; i++) {
        const berth_seccomp_arg *a = &r->args[i];
        enum scmp_compare op;
        if (compare_op(a->op, &op) < 0 || a->index > 5) {
            set_error(error, error_size, "%s.args[%zu]: invalid comparison", r->field, i);
            return -1;
        }
        // MASKED_EQ: datum_a is the mask, datum_b the value ((arg & a) == b).
        cmps[i].arg = a->index;
        cmps[i].op = op;
        cmps[i].datum_a = a->value;
        cmps[i].datum_b = op == SCMP_CMP_MASKED_EQ ? a->value_two : 0;
        for (size_t j = 0; j < i; j++)
            if (r->args[j].index == a->index) repeated = 1;
    }
    int rc = 0;
    if (repeated) {
        // libseccomp cannot AND two conditions on one argument; like runc, treat each
        // condition as its own rule (OR).
        for (size_t i = 0; i < r->args_count; i++) {
            rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[i]);
            if (rc < 0) break;
        }
    } else {
        rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int)r->args_count, cmps);
    }
    if (rc < 0) {
        set_error(error, error_size, "%s: cannot add rule for \"%s\": %s", r->field, r->syscall,
                  berth_errtext(-rc));
        return -1;
    }
    return 0;
}

// libseccomp 2.5 has no export to memory: export to a memfd and read it back.
static int export_program(scmp_filter_ctx ctx, struct sock_filter **program, size_t *length,
                          char *error, size_t error_size) {
    int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        set_error(error, error_size, "linux.seccomp: memfd_create: %s", berth_errtext(errno));
        return -1;
    }
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) {
        set_error(error, error_size, "linux.seccomp: export filter: %s", berth_errtext(-rc));
        close(fd);
        return -1;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
        size / (off_t)sizeof(struct sock_filter) > 0xffff) {
        set_error(error, error_size, "linux.seccomp: unexpected filter size %lld",
                  (long long)size);
        close(fd);
        return -1;
    }
    struct sock_filter *buf = malloc((size_t)size);
    if (buf == NULL) {
        set_error(error, error_size, "linux.seccomp: out of memory");
        close(fd);
        return -1;
    }
    for (off_t off = 0; off < size;) {
        ssize_t n = pread(fd, (char *)buf + off, (size_t)(size - off), off);
        if (n <= 0) {
            set_error(error, error_size, "linux.seccomp: read filter: %s",
                      n < 0 ? berth_errtext(errno) : "short read");
            free(buf);
            close(fd);
            return -1;
        }
        off += n;
    }
    close(fd);
    *program = buf;
    *length = (size_t)size / sizeof(struct sock_filter);
    return 0;
}

int berth_seccomp_compile(const berth_seccomp_config *config, struct sock_filter **program,
                          size_t *length, char *error, size_t error_size) {
    if (config == NULL || program == NULL || length == NULL) {
        set_error(error, error_size, "linux.seccomp: invalid arguments");
        errno = EINVAL;
        return -1;
    }
    uint32_t def;
    if (action_value(&config->default_action, &def) < 0) {
        set_error(error, error_size, "linux.seccomp.defaultAction: unknown action %d",
                  config->default_action.kind);
        errno = EINVAL;
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(def);
    if (ctx == NULL) {
        set_error(error, error_size, "linux.seccomp.defaultAction: cannot create filter");
        errno = EINVAL;
        return -1;
    }
    int result = -1;
    // The plan sets no_new_privs itself, when the config asks for it.
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (rc < 0) {
        set_error(error, error_size, "linux.seccomp: %s", berth_errtext(-rc));
        goto out;
    }
    if (config->architectures != NULL && config->architectures[0] != NULL) {
        uint32_t native = seccomp_arch_native();
        int native_listed = 0;
        for (size_t i = 0; config->architectures[i] != NULL; i++) {
            uint32_t token = arch_token(config->architectures[i]);
            if (token == 0) {
                set_error(error, error_size,
                          "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i,
                          config->architectures[i]);
                goto out;
            }
            if (token == native) {
                native_listed = 1;
                continue;
            }
            rc = seccomp_arch_add(ctx, token);
            if (rc < 0 && rc != -EEXIST) {
                set_error(error, error_size, "linux.seccomp.architectures[%zu]: %s", i,
                          berth_errtext(-rc));
                goto out;
            }
        }
        // Added the others first: libseccomp will not remove a filter's only architecture.
        if (!native_listed) {
            rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
            if (rc < 0) {
                set_error(error, error_size, "linux.seccomp.architectures: %s",
                          berth_errtext(-rc));
                goto out;
            }
        }
    }
    for (size_t i = 0; i < config->rules_count; i++) {
        const berth_seccomp_rule *r = &config->rules[i];
        uint32_t action;
        if (r->syscall == NULL || action_value(&r->action, &action) < 0) {
            set_error(error, error_size, "%s: invalid rule", r->field);
            goto out;
        }
        int nr = seccomp_syscall_resolve_name(r->syscall);
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: skip, as runc does
        if (action == def) continue;          // libseccomp refuses rules equal to the default
        if (add_rule(ctx, r, action, nr, error, error_size) < 0) goto out;
    }
    if (export_program(ctx, program, length, error, error_size) == 0) result = 0;
out:
    seccomp_release(ctx);
    if (result < 0) errno = EINVAL;
    return result;
}
