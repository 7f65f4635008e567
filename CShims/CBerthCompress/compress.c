// Streaming gzip (zlib) and zstd (libzstd) decoders behind one small interface.
#include "berth_compress.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct berth_decoder {
    int codec;
    z_stream zlib;
    int zlib_ended;          // the last gzip member finished; the next byte starts a new one
    ZSTD_DStream *zstd;
    size_t zstd_hint;        // 0 once a frame is complete and flushed
    const char *error;
};

berth_decoder *berth_decoder_new(int codec) {
    berth_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->codec = codec;
    d->error = "no error";
    if (codec == BERTH_CODEC_GZIP) {
        // 15 + 16: gzip framing only; a zlib or raw stream is not a valid gzip layer.
        if (inflateInit2(&d->zlib, 15 + 16) != Z_OK) { free(d); return NULL; }
        // No CRC-32 (a fifth of inflate's time): every layer's uncompressed bytes are checked
        // against the config's sha256 diff_id, and its compressed bytes against the manifest's
        // digest, which catch every corruption the CRC would. inflateReset keeps this setting.
        inflateValidate(&d->zlib, 0);
    } else if (codec == BERTH_CODEC_ZSTD) {
        d->zstd = ZSTD_createDStream();
        if (!d->zstd) { free(d); return NULL; }
        ZSTD_initDStream(d->zstd);
        d->zstd_hint = 1;
    } else {
        free(d);
        return NULL;
    }
    return d;
}

void berth_decoder_free(berth_decoder *d) {
    if (!d) return;
    if (d->codec == BERTH_CODEC_GZIP) inflateEnd(&d->zlib);
    if (d->zstd) ZSTD_freeDStream(d->zstd);
    free(d);
}

const char *berth_decoder_error(const berth_decoder *d) { return d->error; }

static int run_gzip(berth_decoder *d, const uint8_t *in, size_t in_len, size_t *in_used,
                    uint8_t *out, size_t out_cap, size_t *out_made) {
    if (d->zlib_ended && in_len > 0) {
        // Concatenated members (RFC 1952 allows them; pigz writes them).
        inflateReset(&d->zlib);
        d->zlib_ended = 0;
    }
    // zlib counts in uInt: feed at most 1 GiB per call.
    size_t in_chunk = in_len > (1u << 30) ? (1u << 30) : in_len;
    size_t out_chunk = out_cap > (1u << 30) ? (1u << 30) : out_cap;
    d->zlib.next_in = (Bytef *)in;
    d->zlib.avail_in = (uInt)in_chunk;
    d->zlib.next_out = out;
    d->zlib.avail_out = (uInt)out_chunk;
    int rc = d->zlib_ended ? Z_STREAM_END : inflate(&d->zlib, Z_NO_FLUSH);
    *in_used = in_chunk - d->zlib.avail_in;
    *out_made = out_chunk - d->zlib.avail_out;
    if (rc == Z_STREAM_END) {
        d->zlib_ended = 1;
        return BERTH_DECODE_END;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) return BERTH_DECODE_PROGRESS;
    d->error = d->zlib.msg ? d->zlib.msg : (rc == Z_MEM_ERROR ? "out of memory" : "corrupt gzip data");
    return BERTH_DECODE_ERROR;
}

static int run_zstd(berth_decoder *d, const uint8_t *in, size_t in_len, size_t *in_used,
                    uint8_t *out, size_t out_cap, size_t *out_made) {
    ZSTD_inBuffer input = { in, in_len, 0 };
    ZSTD_outBuffer output = { out, out_cap, 0 };
    size_t rc = ZSTD_decompressStream(d->zstd, &output, &input);
    *in_used = input.pos;
    *out_made = output.pos;
    if (ZSTD_isError(rc)) {
        d->error = ZSTD_getErrorName(rc);
        return BERTH_DECODE_ERROR;
    }
    d->zstd_hint = rc;
    // rc == 0: a frame is complete and fully flushed.
    return rc == 0 ? BERTH_DECODE_END : BERTH_DECODE_PROGRESS;
}

int berth_decoder_run(berth_decoder *d, const uint8_t *in, size_t in_len, size_t *in_used,
                      uint8_t *out, size_t out_cap, size_t *out_made) {
    *in_used = 0;
    *out_made = 0;
    if (d->codec == BERTH_CODEC_GZIP) return run_gzip(d, in, in_len, in_used, out, out_cap, out_made);
    return run_zstd(d, in, in_len, in_used, out, out_cap, out_made);
}
