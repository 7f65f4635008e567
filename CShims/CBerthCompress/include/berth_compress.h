// Streaming layer decompression (gzip through zlib, zstd through libzstd) and SHA-256 for
// verifying image blobs. Plain C so the hot loops run at library speed even in debug builds.
#ifndef BERTH_COMPRESS_H
#define BERTH_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- decompression -----------------------------------------------------------------------

enum berth_codec {
    BERTH_CODEC_GZIP = 1,   // gzip (one member or several concatenated)
    BERTH_CODEC_ZSTD = 2,   // zstd (one frame or several)
};

enum berth_decode_status {
    BERTH_DECODE_ERROR = -1,     // corrupt input: see berth_decoder_error
    BERTH_DECODE_PROGRESS = 0,   // call again with more input or more output room
    BERTH_DECODE_END = 1,        // a complete stream ended exactly here
};

typedef struct berth_decoder berth_decoder;

// NULL on an unknown codec or out of memory.
berth_decoder *berth_decoder_new(int codec);
void berth_decoder_free(berth_decoder *decoder);

// Decodes from in[0..in_len) into out[0..out_cap). *in_used and *out_made say how much was
// consumed and produced. BERTH_DECODE_END is returned only when the stream is complete and
// no output is pending; more input after it starts a new gzip member / zstd frame.
int berth_decoder_run(berth_decoder *decoder, const uint8_t *in, size_t in_len, size_t *in_used,
                      uint8_t *out, size_t out_cap, size_t *out_made);

// The library's description of the last error (never NULL).
const char *berth_decoder_error(const berth_decoder *decoder);

// ---- SHA-256 (FIPS 180-4) ------------------------------------------------------------------

typedef struct berth_sha256 {
    uint32_t state[8];
    uint64_t length;        // bytes hashed so far
    uint8_t buffer[64];
    size_t buffered;
} berth_sha256;

void berth_sha256_init(berth_sha256 *context);
void berth_sha256_update(berth_sha256 *context, const void *data, size_t length);
void berth_sha256_final(berth_sha256 *context, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif
#endif
