// Sync messages between the caller and the child stages, the child's error reporting, and the
// small string helpers the child uses instead of stdio.
#include "internal.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

// ---- strings -------------------------------------------------------------------------------

void berth_buf_init(berth_buf *b, char *storage, size_t cap) {
    b->p = storage;
    b->cap = cap;
    b->len = 0;
    if (cap > 0) storage[0] = '\0';
}

void berth_buf_str(berth_buf *b, const char *s) {
    if (s == NULL) s = "(null)";
    // Truncates silently: an error message cut short beats no message.
    while (*s != '\0' && b->len + 1 < b->cap) b->p[b->len++] = *s++;
    if (b->cap > 0) b->p[b->len] = '\0';
}

void berth_buf_num(berth_buf *b, long long v) {
    char tmp[24];
    int i = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[i++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) tmp[i++] = '-';
    char out[24];
    int j = 0;
    while (i > 0) out[j++] = tmp[--i];
    out[j] = '\0';
    berth_buf_str(b, out);
}

size_t berth_strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') n++;
    return n;
}

int berth_streq(const char *a, const char *b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

void berth_fd_path(char *out, int fd) {
    berth_buf b;
    berth_buf_init(&b, out, 32);
    berth_buf_str(&b, "/proc/self/fd/");
    berth_buf_num(&b, fd);
}

const char *berth_errtext(int err) {
    // strerrordesc_np reads a constant table (no locale, no allocation), unlike strerror.
    const char *s = strerrordesc_np(err);
    return s != NULL ? s : "Unknown error";
}

// ---- sync socket ---------------------------------------------------------------------------

// The one place that retries EINTR for sync traffic.
static ssize_t sync_msg(int fd, struct msghdr *msg, int sending) {
    ssize_t n;
    do {
        n = sending ? sendmsg(fd, msg, MSG_NOSIGNAL) : recvmsg(fd, msg, MSG_CMSG_CLOEXEC);
    } while (n == -1 && errno == EINTR);
    return n;
}

int berth_sync_send(int fd, uint32_t type, int64_t value, const void *payload, uint32_t length) {
    return berth_sync_send_fds(fd, type, value, payload, length, NULL, 0);
}

int berth_sync_send_fds(int fd, uint32_t type, int64_t value, const void *payload,
                        uint32_t length, const int *fds, size_t fds_count) {
    if (length > BERTH_SYNC_MAX_MESSAGE || fds_count > BERTH_SYNC_MAX_FDS) {
        errno = EMSGSIZE;
        return -1;
    }
    berth_sync_header header = {.type = type, .length = length, .value = value};
    struct iovec iov[2] = {
        {.iov_base = &header, .iov_len = sizeof header},
        {.iov_base = (void *)payload, .iov_len = payload != NULL ? length : 0},
    };
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    union {
        char buf[CMSG_SPACE(sizeof(int) * BERTH_SYNC_MAX_FDS)];
        struct cmsghdr align;
    } control;
    if (fds_count > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds_count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds_count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * fds_count);
    }
    ssize_t n = sync_msg(fd, &msg, 1);
    if (n < 0) return -1;
    if ((size_t)n != sizeof header + iov[1].iov_len) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

ssize_t berth_sync_recv(int fd, berth_sync_header *header, void *payload, size_t capacity) {
    return berth_sync_recv_fds(fd, header, payload, capacity, NULL, NULL);
}

ssize_t berth_sync_recv_fds(int fd, berth_sync_header *header, void *payload, size_t capacity,
                            int *fds, size_t *fds_count) {
    struct iovec iov[2] = {
        {.iov_base = header, .iov_len = sizeof *header},
        {.iov_base = payload, .iov_len = payload != NULL ? capacity : 0},
    };
    union {
        char buf[CMSG_SPACE(sizeof(int) * BERTH_SYNC_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    size_t wanted = fds_count != NULL ? *fds_count : 0;
    if (fds_count != NULL) *fds_count = 0;
    memset(header, 0, sizeof *header);
    ssize_t n = sync_msg(fd, &msg, 0);
    if (n < 0) return -1;
    // Files nobody asked for (or more than asked) are closed, never left open in this process.
    int extra = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int received;
            memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fds_count != NULL && *fds_count < wanted) {
                fds[(*fds_count)++] = received;
            } else {
                close(received);
                extra = 1;
            }
        }
    }
    if (n == 0) return 0;  // EOF: header stays zeroed (type 0 is no message)
    if ((size_t)n < sizeof *header || (fds_count != NULL && (extra || (msg.msg_flags & MSG_CTRUNC)))) {
        errno = EPROTO;
        return -1;
    }
    // A payload longer than `capacity` is truncated (MSG_TRUNC); header->length keeps the
    // sender's size so the caller can tell.
    return n - (ssize_t)sizeof *header;
}

// ---- child reporting -----------------------------------------------------------------------

void berth_child_fail(berth_child *c, int err, const char *field, ...) {
    char storage[2048];
    berth_buf b;
    berth_buf_init(&b, storage, sizeof storage);
    int to_stderr = c->after_ready || c->sync_fd < 0;
    if (to_stderr) berth_buf_str(&b, "berth: ");
    if (field != NULL && field[0] != '\0') {
        berth_buf_str(&b, field);
        berth_buf_str(&b, ": ");
    }
    va_list ap;
    va_start(ap, field);
    for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *))
        berth_buf_str(&b, s);
    va_end(ap);
    if (err != 0) {
        berth_buf_str(&b, ": ");
        berth_buf_str(&b, berth_errtext(err));
    }
    if (to_stderr) {
        berth_buf_str(&b, "\n");
        ssize_t ignored = write(2, b.p, b.len);
        (void)ignored;
        _exit(c->in_exec && err == EACCES ? 126 : 127);
    }
    berth_sync_send(c->sync_fd, BERTH_SYNC_ERROR, err, b.p, (uint32_t)b.len);
    _exit(1);
}

void berth_child_send(berth_child *c, uint32_t type, int64_t value, const void *payload,
                      uint32_t length) {
    if (berth_sync_send(c->sync_fd, type, value, payload, length) < 0) {
        // The parent is gone or the socket is broken: nobody to tell.
        _exit(1);
    }
}

ssize_t berth_child_expect(berth_child *c, uint32_t type, void *payload, size_t capacity) {
    return berth_child_expect_fds(c, type, payload, capacity, NULL, NULL, NULL);
}

ssize_t berth_child_expect_fds(berth_child *c, uint32_t type, void *payload, size_t capacity,
                               int *fds, size_t *fds_count, int64_t *value) {
    berth_sync_header h;
    ssize_t n = berth_sync_recv_fds(c->sync_fd, &h, payload, capacity, fds, fds_count);
    if (n < 0) berth_child_fail(c, errno, "sync", "receive from parent", NULL);
    if (h.type == 0) _exit(1);  // EOF: the parent gave up on us
    if (h.type != type) {
        char num[48];
        berth_buf b;
        berth_buf_init(&b, num, sizeof num);
        berth_buf_num(&b, h.type);
        berth_child_fail(c, EPROTO, "sync", "unexpected message ", num, NULL);
    }
    if (value != NULL) *value = h.value;
    return n;
}
