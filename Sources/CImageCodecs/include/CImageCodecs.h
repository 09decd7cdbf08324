// CImageCodecs: a thin, longjmp-safe layer over libjpeg(-turbo) and libpng.
//
// Both libraries report fatal errors by longjmp, which Swift cannot host, so every entry point
// below sets its own setjmp frame, turns an error into a status code plus a one-line message,
// and never prints to stderr. The decoders read from memory the caller keeps alive until
// `*_close`, and hand back raw samples; the conversion to RGB happens in Swift (GraftImage).
//
// Usage: `*_open` parses the header (nothing large is allocated yet, so the caller can apply
// its decompression-bomb limits to `info`), `*_read` decodes every row into a caller-provided
// buffer of `info.row_bytes * info.height` bytes, `*_close` frees the decoder.
#ifndef GRAFT_IMAGE_CODECS_H
#define GRAFT_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#define GIC_MESSAGE_LENGTH 256

/// Outcome of a call. Anything but GIC_OK comes with a message.
typedef enum {
    GIC_OK = 0,
    GIC_CORRUPT = 1,      ///< the codec rejected the data
    GIC_TRUNCATED = 2,    ///< the data ends before the image does
    GIC_TOO_LARGE = 3,    ///< a declared dimension is beyond the caller's limit
    GIC_UNSUPPORTED = 4,  ///< valid, but a layout this layer does not decode (e.g. 12-bit JPEG)
    GIC_NO_MEMORY = 5,
    GIC_BAD_CALL = 6,     ///< the caller's buffer is too small, or read was called twice
} gic_status;

/// The layout of the raw samples `*_read` writes.
typedef enum {
    GIC_GRAY = 1,        ///< 1 sample per pixel
    GIC_GRAY_ALPHA = 2,  ///< 2 samples
    GIC_RGB = 3,         ///< 3 samples
    GIC_RGBA = 4,        ///< 4 samples
    GIC_PALETTE = 5,     ///< 1 sample: an index into `palette`
    GIC_CMYK = 6,        ///< 4 samples as stored in the JPEG (not inverted)
} gic_color;

typedef struct {
    uint32_t width;
    uint32_t height;
    int color;        ///< a gic_color
    int channels;     ///< samples per pixel
    /// Bits per sample as declared by the file: 8 or 16 (two bytes, big-endian) or, for PNG,
    /// 1, 2 or 4 (unpacked to one byte per sample, value not rescaled).
    int bit_depth;
    int interlaced;   ///< PNG Adam7 or progressive JPEG
    size_t row_bytes; ///< bytes per raw output row
    int palette_count;        ///< PLTE entries (PNG palette images only)
    uint8_t palette[256 * 3];
} gic_info;

typedef struct gic_jpeg gic_jpeg;
typedef struct gic_png gic_png;

/// Parses a JPEG header. On success `*out` is a decoder for `gic_jpeg_read` / `gic_jpeg_close`.
/// Images wider or taller than `max_side` are refused with GIC_TOO_LARGE.
gic_status gic_jpeg_open(const uint8_t *data, size_t size, uint32_t max_side, gic_jpeg **out,
                         gic_info *info, char message[GIC_MESSAGE_LENGTH]);
/// Decodes the whole image (islow DCT, fancy upsampling, as Pillow) into `pixels`.
gic_status gic_jpeg_read(gic_jpeg *decoder, uint8_t *pixels, size_t size,
                         char message[GIC_MESSAGE_LENGTH]);
void gic_jpeg_close(gic_jpeg *decoder);

/// Parses a PNG up to its first IDAT. Same contract as `gic_jpeg_open`.
gic_status gic_png_open(const uint8_t *data, size_t size, uint32_t max_side, gic_png **out,
                        gic_info *info, char message[GIC_MESSAGE_LENGTH]);
/// Decodes every row (all Adam7 passes for interlaced files) into `pixels`.
gic_status gic_png_read(gic_png *decoder, uint8_t *pixels, size_t size,
                        char message[GIC_MESSAGE_LENGTH]);
void gic_png_close(gic_png *decoder);

/// Encodes 8-bit RGB rows (`width * 3` bytes each, `height` rows) as a PNG in memory. On success
/// `*out` holds `*out_size` bytes the caller frees with `gic_free`.
gic_status gic_png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height, uint8_t **out,
                              size_t *out_size, char message[GIC_MESSAGE_LENGTH]);

void gic_free(void *pointer);

#endif
