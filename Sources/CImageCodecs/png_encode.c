// PNG encoding for Graft's reports (training curves, confusion matrices): 8-bit RGB, default
// compression, written to memory so the Swift side can commit the file atomically.
#include "CImageCodecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
    char *message;
} gic_png_sink;

static void sink_write(png_structp png, png_bytep bytes, png_size_t length) {
    gic_png_sink *sink = (gic_png_sink *)png_get_io_ptr(png);
    if (sink->failed) return;
    if (sink->size + length > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 4096;
        while (capacity < sink->size + length) capacity *= 2;
        uint8_t *grown = realloc(sink->data, capacity);
        if (!grown) { sink->failed = 1; return; }
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, bytes, length);
    sink->size += length;
}

static void sink_flush(png_structp png) { (void)png; }

static void encode_error(png_structp png, png_const_charp text) {
    gic_png_sink *sink = (gic_png_sink *)png_get_error_ptr(png);
    if (sink && sink->message) {
        strncpy(sink->message, text ? text : "PNG encoding failed", GIC_MESSAGE_LENGTH - 1);
        sink->message[GIC_MESSAGE_LENGTH - 1] = 0;
    }
    png_longjmp(png, 1);
}

static void encode_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

gic_status gic_png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height, uint8_t **out,
                              size_t *out_size, char message[GIC_MESSAGE_LENGTH]) {
    message[0] = 0;
    if (!pixels || !out || !out_size || width == 0 || height == 0) {
        strncpy(message, "invalid arguments", GIC_MESSAGE_LENGTH - 1);
        return GIC_BAD_CALL;
    }
    gic_png_sink sink = {0};
    sink.message = message;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, encode_error, encode_warning);
    if (!png) return GIC_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); return GIC_NO_MEMORY; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(sink.data);
        return GIC_CORRUPT;
    }
    png_set_write_fn(png, &sink, sink_write, sink_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (sink.failed) { free(sink.data); return GIC_NO_MEMORY; }
    *out = sink.data;
    *out_size = sink.size;
    return GIC_OK;
}

void gic_free(void *pointer) { free(pointer); }
