/* The few JSON bits the supervisor needs: writing escaped strings, reading the runtime's last
 * error message from its JSON-lines log (hostile text), and writing files atomically. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- writing ---- */

/* Length of the valid UTF-8 sequence at p (1..4), 0 when it is not one (overlong, surrogate,
 * past U+10FFFF, cut short). */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t need;
    uint32_t code;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        code = c & 0x07;
    } else {
        return 0;
    }
    if (left < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        code = (code << 6) | (p[i] & 0x3F);
    }
    if (need == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF)))
        return 0;
    if (need == 4 && (code < 0x10000 || code > 0x10FFFF))
        return 0;
    return need;
}

static int put(char *out, size_t *used, size_t size, const char *bytes, size_t length)
{
    /* Always leave room for the terminating NUL. */
    if (*used + length >= size)
        return -1;
    memcpy(out + *used, bytes, length);
    *used += length;
    out[*used] = '\0';
    return 0;
}

size_t json_append_string(char *out, size_t used, size_t size, const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *bytes = (const unsigned char *)text;
    if (put(out, &used, size, "\"", 1) < 0)
        return size;
    for (size_t i = 0; i < length;) {
        unsigned char c = bytes[i];
        char escape[7] = {'\\', 0, 0, 0, 0, 0, 0};
        const char *piece = escape;
        size_t piece_length = 2, advance = 1;
        switch (c) {
        case '"': escape[1] = '"'; break;
        case '\\': escape[1] = '\\'; break;
        case '\n': escape[1] = 'n'; break;
        case '\r': escape[1] = 'r'; break;
        case '\t': escape[1] = 't'; break;
        case '\b': escape[1] = 'b'; break;
        case '\f': escape[1] = 'f'; break;
        default:
            if (c < 0x20 || c == 0x7F) {
                escape[1] = 'u';
                escape[2] = '0';
                escape[3] = '0';
                escape[4] = hex[c >> 4];
                escape[5] = hex[c & 0xF];
                piece_length = 6;
            } else if ((advance = utf8_sequence(bytes + i, length - i)) == 0) {
                piece = "\\ufffd";
                piece_length = 6;
                advance = 1;
            } else {
                piece = text + i;
                piece_length = advance;
            }
        }
        if (put(out, &used, size, piece, piece_length) < 0)
            return size;
        i += advance;
    }
    if (put(out, &used, size, "\"", 1) < 0)
        return size;
    return used;
}

/* ---- reading one JSON-lines record ---- */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(const char *p, const char *end, uint32_t *value)
{
    if (end - p < 4)
        return -1;
    uint32_t result = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(p[i]);
        if (digit < 0)
            return -1;
        result = (result << 4) | (uint32_t)digit;
    }
    *value = result;
    return 0;
}

/* Appends one code point as UTF-8, whole or not at all (so truncation never cuts a character). */
static void append_code_point(uint32_t code, char *out, size_t *used, size_t size, int *truncated)
{
    char bytes[4];
    size_t n;
    if (code < 0x80) {
        bytes[0] = (char)code;
        n = 1;
    } else if (code < 0x800) {
        bytes[0] = (char)(0xC0 | (code >> 6));
        bytes[1] = (char)(0x80 | (code & 0x3F));
        n = 2;
    } else if (code < 0x10000) {
        bytes[0] = (char)(0xE0 | (code >> 12));
        bytes[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        bytes[2] = (char)(0x80 | (code & 0x3F));
        n = 3;
    } else {
        bytes[0] = (char)(0xF0 | (code >> 18));
        bytes[1] = (char)(0x80 | ((code >> 12) & 0x3F));
        bytes[2] = (char)(0x80 | ((code >> 6) & 0x3F));
        bytes[3] = (char)(0x80 | (code & 0x3F));
        n = 4;
    }
    if (*truncated || *used + n >= size) {
        *truncated = 1;
        return;
    }
    memcpy(out + *used, bytes, n);
    *used += n;
}

/* Decodes the string whose opening quote is at p. Returns the position after its closing quote,
 * NULL when malformed. `out` (may be NULL) gets at most size-1 bytes and a NUL. */
static const char *decode_string(const char *p, const char *end, char *out, size_t size,
                                 size_t *length, int *truncated)
{
    size_t used = 0;
    int cut = 0;
    if (out == NULL)
        size = 0, cut = 1;
    p++;
    while (p < end && *p != '"') {
        uint32_t code = (unsigned char)*p;
        if (*p != '\\') {
            /* Raw bytes pass as they are; invalid UTF-8 is replaced when written back out. */
            if (!cut && used + 1 < size)
                out[used++] = *p;
            else
                cut = 1;
            p++;
            continue;
        }
        if (++p >= end)
            return NULL;
        switch (*p++) {
        case '"': code = '"'; break;
        case '\\': code = '\\'; break;
        case '/': code = '/'; break;
        case 'b': code = '\b'; break;
        case 'f': code = '\f'; break;
        case 'n': code = '\n'; break;
        case 'r': code = '\r'; break;
        case 't': code = '\t'; break;
        case 'u':
            if (read_hex4(p, end, &code) < 0)
                return NULL;
            p += 4;
            if (code >= 0xD800 && code <= 0xDBFF) {
                uint32_t low;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, end, &low) == 0
                    && low >= 0xDC00 && low <= 0xDFFF) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                } else {
                    code = 0xFFFD;   /* a lone high surrogate */
                }
            } else if (code >= 0xDC00 && code <= 0xDFFF) {
                code = 0xFFFD;       /* a lone low surrogate */
            }
            break;
        default:
            return NULL;
        }
        append_code_point(code, out, &used, size, &cut);
    }
    if (p >= end)
        return NULL;
    if (size > 0)
        out[used] = '\0';
    if (length)
        *length = used;
    if (truncated)
        *truncated = cut && out != NULL;
    return p + 1;
}

/* Skips any JSON value (nested objects and arrays included) without recursion. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return decode_string(p, end, NULL, 0, NULL, NULL);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        return p;
    }
    size_t depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = decode_string(p, end, NULL, 0, NULL, NULL);
            if (p == NULL)
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

struct record {
    int has_message;
    int is_error;
    size_t message_length;
};

/* Reads one line as a JSON object, keeping "msg" (into out) and whether "level" is "error". */
static int parse_record(const char *p, const char *end, char *out, size_t size, struct record *record)
{
    memset(record, 0, sizeof *record);
    p = skip_space(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}')
        return 0;
    while (p < end) {
        char key[8];
        size_t key_length;
        int key_cut;
        if (*p != '"' || (p = decode_string(p, end, key, sizeof key, &key_length, &key_cut)) == NULL)
            return -1;
        p = skip_space(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_space(p + 1, end);
        if (p >= end)
            return -1;
        int is_message = !key_cut && strcmp(key, "msg") == 0 && *p == '"';
        int is_level = !key_cut && strcmp(key, "level") == 0 && *p == '"';
        if (is_message) {
            int cut;
            p = decode_string(p, end, out, size, &record->message_length, &cut);
            record->has_message = p != NULL;
        } else if (is_level) {
            char level[8];
            size_t level_length;
            int level_cut;
            p = decode_string(p, end, level, sizeof level, &level_length, &level_cut);
            record->is_error = p != NULL && !level_cut && strcmp(level, "error") == 0;
        } else {
            p = skip_value(p, end);
        }
        if (p == NULL)
            return -1;
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        return (p < end && *p == '}') ? 0 : -1;
    }
    return -1;
}

/* Walks the lines from the last one back; the first that matches wins. */
static size_t find_message(const char *text, size_t length, char *out, size_t size, int need_error)
{
    const char *end = text + length;
    while (end > text) {
        const char *start = end;
        while (start > text && start[-1] != '\n')
            start--;
        struct record record;
        if (end > start && parse_record(start, end, out, size, &record) == 0 && record.has_message
            && record.message_length > 0 && (record.is_error || !need_error))
            return record.message_length;
        end = start > text ? start - 1 : text;
    }
    return 0;
}

size_t json_last_error_message(const char *text, size_t length, char *out, size_t size)
{
    if (size == 0)
        return 0;
    out[0] = '\0';
    size_t found = find_message(text, length, out, size, 1);
    if (found == 0)
        found = find_message(text, length, out, size, 0);
    if (found == 0)
        out[0] = '\0';
    return found;
}

/* ---- atomic files ---- */

/* The temporary name is ".NAME.tmp", which berthd relies on: it makes ".supervisor.json.tmp" with
 * the run's directory, so that no file is created between our start and `berth run`. */
int write_file_atomically(int dirfd, const char *name, const char *data, size_t length, int durable)
{
    char temporary[NAME_MAX + 1];
    if (format(temporary, sizeof temporary, ".%s.tmp", name) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = openat(dirfd, temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        data += n;
        length -= (size_t)n;
    }
    if (durable && fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (renameat(dirfd, temporary, dirfd, name) != 0)
        goto fail;
    if (durable)
        fsync(dirfd);
    return 0;
fail:;
    int saved = errno ? errno : EIO;
    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, temporary, 0);
    errno = saved;
    return -1;
}
