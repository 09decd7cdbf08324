// PNG decoding through libpng. The decoder returns samples as stored (sub-byte samples unpacked
// one per byte, 16-bit samples big-endian, palette indices unexpanded) so that GraftImage can
// apply exactly Pillow's mode conversions. No gamma, colour-profile or background handling:
// Pillow ignores those chunks when it decodes, so they are discarded unread here.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "CImageCodecs.h"

/// Cap on what libpng may allocate for one ancillary chunk.
#define GIC_PNG_CHUNK_MAX (8u << 20)

struct gic_png {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t position;
    gic_status status;
    char message[GIC_MESSAGE_LENGTH];
    int read_done;
};

static void gic_png_error(png_structp png, png_const_charp text) {
    struct gic_png *dec = (struct gic_png *)png_get_error_ptr(png);
    if (dec->status == GIC_OK) {
        dec->status = GIC_CORRUPT;
        snprintf(dec->message, sizeof dec->message, "%s", text ? text : "libpng error");
    }
    png_longjmp(png, 1);
}

static void gic_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void gic_png_read_data(png_structp png, png_bytep out, size_t length) {
    struct gic_png *dec = (struct gic_png *)png_get_io_ptr(png);
    if (length > dec->size - dec->position) {
        dec->status = GIC_TRUNCATED;
        snprintf(dec->message, sizeof dec->message, "premature end of PNG data at byte %zu",
                 dec->size);
        png_error(png, dec->message);
    }
    memcpy(out, dec->data + dec->position, length);
    dec->position += length;
}

static gic_status gic_png_fail(struct gic_png *dec, char *message) {
    gic_status status = dec->status == GIC_OK ? GIC_CORRUPT : dec->status;
    snprintf(message, GIC_MESSAGE_LENGTH, "%s", dec->message);
    return status;
}

static void gic_png_destroy(struct gic_png *dec) {
    png_destroy_read_struct(&dec->png, dec->info ? &dec->info : NULL, NULL);
    free(dec);
}

/// Ancillary chunks that cannot change the decoded samples. libpng treats them as unknown and
/// discards them (a bad CRC there is only a warning), which also keeps hostile text, profile or
/// histogram chunks away from its parsers.
static const png_byte gic_png_ignored_chunks[] =
    "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0"
    "tEXt\0tIME\0tRNS\0zTXt\0";

gic_status gic_png_open(const uint8_t *data, size_t size, uint32_t max_side, gic_png **out,
                        gic_info *info, char message[GIC_MESSAGE_LENGTH]) {
    *out = NULL;
    memset(info, 0, sizeof *info);
    // Report a declared size beyond the limit as such (libpng's own limit check, kept below as a
    // backstop, reports it as a generic IHDR error).
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        const uint8_t *d = data + 16;
        uint32_t w = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        uint32_t h = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
        if (w > max_side || h > max_side) {
            info->width = w;
            info->height = h;
            snprintf(message, GIC_MESSAGE_LENGTH, "%ux%u is beyond the %u-pixel side limit",
                     (unsigned)w, (unsigned)h, (unsigned)max_side);
            return GIC_TOO_LARGE;
        }
    }
    struct gic_png *dec = calloc(1, sizeof *dec);
    if (!dec) {
        snprintf(message, GIC_MESSAGE_LENGTH, "out of memory");
        return GIC_NO_MEMORY;
    }
    dec->data = data;
    dec->size = size;
    dec->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, dec, gic_png_error, gic_png_warning);
    if (!dec->png) {
        free(dec);
        snprintf(message, GIC_MESSAGE_LENGTH, "out of memory");
        return GIC_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(dec->png))) {
        gic_status status = gic_png_fail(dec, message);
        gic_png_destroy(dec);
        return status;
    }
    dec->info = png_create_info_struct(dec->png);
    if (!dec->info) png_error(dec->png, "out of memory");
    png_set_read_fn(dec->png, dec, gic_png_read_data);
    png_set_user_limits(dec->png, max_side, max_side);
    png_set_chunk_malloc_max(dec->png, GIC_PNG_CHUNK_MAX);
    png_set_keep_unknown_chunks(dec->png, PNG_HANDLE_CHUNK_NEVER, gic_png_ignored_chunks,
                                (int)(sizeof gic_png_ignored_chunks / 5));
    png_read_info(dec->png, dec->info);

    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(dec->png, dec->info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    info->width = width;
    info->height = height;
    info->bit_depth = depth;
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    switch (color) {
    case PNG_COLOR_TYPE_GRAY: info->color = GIC_GRAY; info->channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: info->color = GIC_GRAY_ALPHA; info->channels = 2; break;
    case PNG_COLOR_TYPE_RGB: info->color = GIC_RGB; info->channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: info->color = GIC_RGBA; info->channels = 4; break;
    case PNG_COLOR_TYPE_PALETTE: {
        png_colorp palette = NULL;
        int count = 0;
        if (!png_get_PLTE(dec->png, dec->info, &palette, &count) || count < 0 || count > 256) {
            png_error(dec->png, "palette image without a valid PLTE chunk");
        }
        info->color = GIC_PALETTE;
        info->channels = 1;
        info->palette_count = count;
        for (int i = 0; i < count; i++) {
            info->palette[3 * i + 0] = palette[i].red;
            info->palette[3 * i + 1] = palette[i].green;
            info->palette[3 * i + 2] = palette[i].blue;
        }
        break;
    }
    default: png_error(dec->png, "unknown colour type");
    }
    if (depth < 8) png_set_packing(dec->png);
    if (info->interlaced) (void)png_set_interlace_handling(dec->png);
    png_read_update_info(dec->png, dec->info);
    size_t expected = (size_t)width * (size_t)info->channels * (depth == 16 ? 2u : 1u);
    info->row_bytes = png_get_rowbytes(dec->png, dec->info);
    if (info->row_bytes != expected) png_error(dec->png, "unexpected row layout");
    *out = dec;
    return GIC_OK;
}

gic_status gic_png_read(gic_png *decoder, uint8_t *pixels, size_t size,
                        char message[GIC_MESSAGE_LENGTH]) {
    struct gic_png *dec = decoder;
    png_uint_32 height = png_get_image_height(dec->png, dec->info);
    size_t row_bytes = png_get_rowbytes(dec->png, dec->info);
    if (dec->read_done || row_bytes == 0 || size / row_bytes < height) {
        snprintf(message, GIC_MESSAGE_LENGTH, "output buffer too small or image already read");
        return GIC_BAD_CALL;
    }
    dec->read_done = 1;
    png_bytepp rows = malloc((size_t)height * sizeof(png_bytep));
    if (!rows) {
        snprintf(message, GIC_MESSAGE_LENGTH, "out of memory");
        return GIC_NO_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    // `rows` is not modified after setjmp, so it keeps its value when libpng longjmps back.
    if (setjmp(png_jmpbuf(dec->png))) {
        free(rows);
        return gic_png_fail(dec, message);
    }
    png_read_image(dec->png, rows);
    free(rows);
    // png_read_end is skipped: chunks after the image data cannot change the pixels, and Pillow
    // does not require IEND either.
    return GIC_OK;
}

void gic_png_close(gic_png *decoder) {
    if (!decoder) return;
    gic_png_destroy(decoder);
}
