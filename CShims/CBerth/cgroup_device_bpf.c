// cgroup v2 device filter: generates, loads and attaches a BPF_PROG_TYPE_CGROUP_DEVICE program.
// No libbpf: raw bpf(2), instructions written out here.
#define _GNU_SOURCE
#include "berth_bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

// Registers: r1 = context on entry; we keep type in r3, access in r2, major in r4, minor in r5.
enum { R0 = 0, R1, R2, R3, R4, R5, R6 };

static struct bpf_insn make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn insn;
    memset(&insn, 0, sizeof insn);
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

static long bpf_call(int cmd, union bpf_attr *attr) {
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static int valid_rule(const berth_device_rule *rule) {
    if (rule->type != BERTH_DEV_TYPE_ALL && rule->type != BERTH_DEV_TYPE_BLOCK &&
        rule->type != BERTH_DEV_TYPE_CHAR) return 0;
    if (rule->major < -1 || rule->major > 0x7fffffff) return 0;
    if (rule->minor < -1 || rule->minor > 0x7fffffff) return 0;
    if (rule->access & ~7u) return 0;
    return 1;
}

// A rule that matches every request: the program can stop there.
static int matches_everything(const berth_device_rule *rule, uint32_t access) {
    return rule->type == BERTH_DEV_TYPE_ALL && rule->major == -1 && rule->minor == -1 && access == 7;
}

int berth_device_filter_build(const berth_device_rule *rules, size_t count, int default_allow,
                              void *out, size_t capacity) {
    struct bpf_insn *prog = out;
    size_t n = 0;
    // Worst case: 6 prologue + 7 per rule + 2 epilogue.
    if (count > 100000 || capacity < 8 + 7 * count) { errno = ENOSPC; return -1; }
    for (size_t i = 0; i < count; i++) {
        if (!valid_rule(&rules[i])) { errno = EINVAL; return -1; }
    }

    // Prologue: unpack struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }.
    prog[n++] = make(BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0);      // r2 = access_type
    prog[n++] = make(BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);    // r3 = r2
    prog[n++] = make(BPF_ALU64 | BPF_AND | BPF_K, R3, 0, 0, 0xffff); // r3 = device type
    prog[n++] = make(BPF_ALU64 | BPF_RSH | BPF_K, R2, 0, 0, 16);    // r2 = access bits
    prog[n++] = make(BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0);      // r4 = major
    prog[n++] = make(BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0);      // r5 = minor

    // Last match wins: test the rules from the last one back; the first hit decides.
    int ended = 0;
    for (size_t k = count; k-- > 0;) {
        const berth_device_rule *rule = &rules[k];
        uint32_t access = rule->access ? rule->access : 7;
        if (matches_everything(rule, access)) {
            prog[n++] = make(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, rule->allow ? 1 : 0);
            prog[n++] = make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
            ended = 1;   // anything after this would be unreachable, which the verifier refuses
            break;
        }
        // Each check jumps to the end of this rule's block on mismatch; offsets patched below.
        size_t jumps[4], jump_count = 0;
        if (rule->type != BERTH_DEV_TYPE_ALL) {
            jumps[jump_count++] = n;
            prog[n++] = make(BPF_JMP | BPF_JNE | BPF_K, R3, 0, 0, rule->type);
        }
        if (rule->major != -1) {
            jumps[jump_count++] = n;
            prog[n++] = make(BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, (int32_t)rule->major);
        }
        if (rule->minor != -1) {
            jumps[jump_count++] = n;
            prog[n++] = make(BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, (int32_t)rule->minor);
        }
        if (access != 7) {
            if (rule->allow) {
                // Allow only when every requested bit is in the rule.
                jumps[jump_count++] = n;
                prog[n++] = make(BPF_JMP | BPF_JSET | BPF_K, R2, 0, 0, (int32_t)(~access & 7));
            } else {
                // Deny when any requested bit is in the rule.
                prog[n++] = make(BPF_ALU64 | BPF_MOV | BPF_X, R6, R2, 0, 0);
                prog[n++] = make(BPF_ALU64 | BPF_AND | BPF_K, R6, 0, 0, (int32_t)access);
                jumps[jump_count++] = n;
                prog[n++] = make(BPF_JMP | BPF_JEQ | BPF_K, R6, 0, 0, 0);
            }
        }
        prog[n++] = make(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, rule->allow ? 1 : 0);
        prog[n++] = make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t j = 0; j < jump_count; j++) {
            prog[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
        }
    }
    if (!ended) {
        prog[n++] = make(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, default_allow ? 1 : 0);
        prog[n++] = make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }
    return (int)n;
}

int berth_device_filter_load(const berth_device_rule *rules, size_t count, int default_allow,
                             char *log, size_t log_size) {
    size_t capacity = 8 + 7 * count;
    struct bpf_insn *prog = calloc(capacity, sizeof *prog);
    if (!prog) return -1;
    int length = berth_device_filter_build(rules, count, default_allow, prog, capacity);
    if (length < 0) { int saved = errno; free(prog); errno = saved; return -1; }

    static const char license[] = "Apache-2.0";
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = (uint32_t)length;
    attr.license = (uint64_t)(uintptr_t)license;
    attr.prog_flags = 0;
    int fd = (int)bpf_call(BPF_PROG_LOAD, &attr);
    if (fd < 0 && log && log_size > 1 && errno != EPERM && errno != ENOMEM) {
        // Load once more with the verifier log on, only to explain the failure.
        int saved = errno;
        log[0] = 0;
        attr.log_level = 1;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)(log_size > 0xffffffffu ? 0xffffffffu : log_size);
        int again = (int)bpf_call(BPF_PROG_LOAD, &attr);
        if (again >= 0) { fd = again; } else { errno = saved; }
    }
    int saved = errno;
    free(prog);
    errno = saved;
    return fd;
}

// Ids of the device programs attached directly to the cgroup. Returns the count (capped at
// `capacity`), or -1.
static int query_ids(int cgroup_dirfd, uint32_t *ids, uint32_t capacity) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup_dirfd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = capacity;
    if (bpf_call(BPF_PROG_QUERY, &attr) < 0) {
        // ENOSPC: more than fit; the ids array is still filled up to capacity.
        if (errno != ENOSPC) return -1;
        return (int)capacity;
    }
    return (int)attr.query.prog_cnt;
}

static int fd_of_id(uint32_t id) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    return (int)bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
}

static int detach(int cgroup_dirfd, int prog_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_dirfd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    return (int)bpf_call(BPF_PROG_DETACH, &attr);
}

enum { MAX_OLD = 64 };

int berth_device_filter_attach(int cgroup_dirfd, const berth_device_rule *rules, size_t count,
                               int default_allow, char *log, size_t log_size) {
    uint32_t old_ids[MAX_OLD];
    int old_count = query_ids(cgroup_dirfd, old_ids, MAX_OLD);
    if (old_count < 0) return -1;

    int prog = berth_device_filter_load(rules, count, default_allow, log, log_size);
    if (prog < 0) return -1;

    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_dirfd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;

    int replaced = -1;
    if (old_count == 1) {
        int old = fd_of_id(old_ids[0]);
        if (old >= 0) {
            attr.attach_flags |= BPF_F_REPLACE;
            attr.replace_bpf_fd = (uint32_t)old;
            if (bpf_call(BPF_PROG_ATTACH, &attr) == 0) replaced = 0;
            close(old);
            attr.attach_flags = BPF_F_ALLOW_MULTI;
            attr.replace_bpf_fd = 0;
        }
    }
    if (replaced != 0) {
        // Attach first, then detach the old ones: never a moment with no filter.
        if (bpf_call(BPF_PROG_ATTACH, &attr) < 0) {
            int saved = errno;
            close(prog);
            errno = saved;
            return -1;
        }
        for (int i = 0; i < old_count; i++) {
            int old = fd_of_id(old_ids[i]);
            if (old < 0) continue;   // gone meanwhile
            int rc = detach(cgroup_dirfd, old);
            int saved = errno;
            close(old);
            if (rc < 0 && saved != ENOENT) {
                // The new program stays attached; the caller learns the old one could not go.
                close(prog);
                errno = saved;
                return -1;
            }
        }
    }
    return prog;
}

int berth_device_filter_count(int cgroup_dirfd) {
    uint32_t ids[MAX_OLD];
    return query_ids(cgroup_dirfd, ids, MAX_OLD);
}

int berth_device_filter_detach_all(int cgroup_dirfd) {
    uint32_t ids[MAX_OLD];
    int count = query_ids(cgroup_dirfd, ids, MAX_OLD);
    if (count < 0) return -1;
    int detached = 0;
    for (int i = 0; i < count; i++) {
        int fd = fd_of_id(ids[i]);
        if (fd < 0) continue;
        int rc = detach(cgroup_dirfd, fd);
        int saved = errno;
        close(fd);
        if (rc < 0 && saved != ENOENT) { errno = saved; return -1; }
        if (rc == 0) detached++;
    }
    return detached;
}

int berth_eventfd_cloexec(void) {
    return eventfd(0, EFD_CLOEXEC);
}
