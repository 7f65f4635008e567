#ifndef BERTH_COMPRESS_H
#define BERTH_COMPRESS_H
/* Streaming layer decompression (gzip via zlib, zstd via libzstd). */
#endif
