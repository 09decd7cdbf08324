// JPEG decoding through libjpeg(-turbo) with Pillow's settings: islow DCT, fancy upsampling,
// the library's own colour-space guess (JFIF/Adobe markers), YCbCr→RGB by the library, CMYK and
// YCCK delivered as CMYK. Errors longjmp back to the frame of the public call that caused them.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "CImageCodecs.h"

/// More scans than any real progressive JPEG has (they use about 10); a file with thousands of
/// tiny scans is a CPU bomb (libjpeg-turbo's own tools default to 500 as well).
#define GIC_JPEG_MAX_SCANS 500

struct gic_jpeg {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr errors;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    gic_status status;
    char message[GIC_MESSAGE_LENGTH];
    int read_done;
};

static void gic_jpeg_fail(j_common_ptr cinfo, gic_status status) {
    struct gic_jpeg *dec = (struct gic_jpeg *)cinfo->client_data;
    char text[JMSG_LENGTH_MAX];
    text[0] = 0;
    cinfo->err->format_message(cinfo, text);
    dec->status = status;
    snprintf(dec->message, sizeof dec->message, "%s", text);
    longjmp(dec->jump, 1);
}

static void gic_jpeg_error_exit(j_common_ptr cinfo) {
    gic_status status = GIC_CORRUPT;
    switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY: status = GIC_NO_MEMORY; break;
    case JERR_INPUT_EMPTY:
    case JERR_INPUT_EOF: status = GIC_TRUNCATED; break;
    case JERR_BAD_PRECISION: status = GIC_UNSUPPORTED; break;
    default: break;
    }
    gic_jpeg_fail(cinfo, status);
}

/// Warnings (level -1) about corrupt entropy data are ignored, as Pillow ignores them; running
/// out of data is not: Pillow reports a truncated file as an error too.
static void gic_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        gic_jpeg_fail(cinfo, GIC_TRUNCATED);
    }
}

static void gic_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void gic_jpeg_progress(j_common_ptr cinfo) {
    struct jpeg_decompress_struct *d = (struct jpeg_decompress_struct *)cinfo;
    if (d->input_scan_number > GIC_JPEG_MAX_SCANS) {
        struct gic_jpeg *dec = (struct gic_jpeg *)cinfo->client_data;
        dec->status = GIC_CORRUPT;
        snprintf(dec->message, sizeof dec->message, "more than %d scans", GIC_JPEG_MAX_SCANS);
        longjmp(dec->jump, 1);
    }
}

static gic_status gic_jpeg_report(struct gic_jpeg *dec, char *message) {
    snprintf(message, GIC_MESSAGE_LENGTH, "%s", dec->message);
    return dec->status;
}

gic_status gic_jpeg_open(const uint8_t *data, size_t size, uint32_t max_side, gic_jpeg **out,
                         gic_info *info, char message[GIC_MESSAGE_LENGTH]) {
    *out = NULL;
    memset(info, 0, sizeof *info);
    if (size == 0 || (unsigned long)size != size) {
        snprintf(message, GIC_MESSAGE_LENGTH, "empty or oversized input");
        return size == 0 ? GIC_TRUNCATED : GIC_TOO_LARGE;
    }
    struct gic_jpeg *dec = calloc(1, sizeof *dec);
    if (!dec) {
        snprintf(message, GIC_MESSAGE_LENGTH, "out of memory");
        return GIC_NO_MEMORY;
    }
    dec->cinfo.err = jpeg_std_error(&dec->errors);
    dec->errors.error_exit = gic_jpeg_error_exit;
    dec->errors.emit_message = gic_jpeg_emit_message;
    dec->errors.output_message = gic_jpeg_output_message;
    dec->cinfo.client_data = dec;
    if (setjmp(dec->jump)) {
        gic_status status = gic_jpeg_report(dec, message);
        jpeg_destroy_decompress(&dec->cinfo);
        free(dec);
        return status;
    }
    jpeg_create_decompress(&dec->cinfo);
    dec->progress.progress_monitor = gic_jpeg_progress;
    dec->cinfo.progress = &dec->progress;
    jpeg_mem_src(&dec->cinfo, data, (unsigned long)size);
    jpeg_read_header(&dec->cinfo, TRUE);

    struct jpeg_decompress_struct *c = &dec->cinfo;
    gic_status status = GIC_OK;
    info->width = c->image_width;
    info->height = c->image_height;
    if (c->image_width == 0 || c->image_height == 0) {
        snprintf(message, GIC_MESSAGE_LENGTH, "zero-sized image");
        status = GIC_CORRUPT;
    } else if (c->image_width > max_side || c->image_height > max_side) {
        snprintf(message, GIC_MESSAGE_LENGTH, "%ux%u is beyond the %u-pixel side limit",
                 (unsigned)c->image_width, (unsigned)c->image_height, (unsigned)max_side);
        status = GIC_TOO_LARGE;
    } else if (c->data_precision != 8) {
        snprintf(message, GIC_MESSAGE_LENGTH, "%d-bit samples are not supported", c->data_precision);
        status = GIC_UNSUPPORTED;
    } else if (c->num_components == 1) {
        c->out_color_space = JCS_GRAYSCALE;
        info->color = GIC_GRAY;
    } else if (c->num_components == 3) {
        c->out_color_space = JCS_RGB;
        info->color = GIC_RGB;
    } else if (c->num_components == 4) {
        c->out_color_space = JCS_CMYK;
        info->color = GIC_CMYK;
    } else {
        snprintf(message, GIC_MESSAGE_LENGTH, "%d components are not supported", c->num_components);
        status = GIC_UNSUPPORTED;
    }
    if (status != GIC_OK) {
        jpeg_destroy_decompress(&dec->cinfo);
        free(dec);
        return status;
    }
    // Pillow's defaults (it changes them only in draft mode).
    c->dct_method = JDCT_ISLOW;
    c->do_fancy_upsampling = TRUE;
    c->scale_num = 1;
    c->scale_denom = 1;
    info->channels = c->num_components;
    info->bit_depth = 8;
    info->interlaced = jpeg_has_multiple_scans(c) ? 1 : 0;
    info->row_bytes = (size_t)c->image_width * (size_t)c->num_components;
    *out = dec;
    return GIC_OK;
}

gic_status gic_jpeg_read(gic_jpeg *decoder, uint8_t *pixels, size_t size,
                         char message[GIC_MESSAGE_LENGTH]) {
    struct gic_jpeg *dec = decoder;
    struct jpeg_decompress_struct *c = &dec->cinfo;
    size_t row_bytes = (size_t)c->image_width * (size_t)c->num_components;
    if (dec->read_done || size / row_bytes < c->image_height) {
        snprintf(message, GIC_MESSAGE_LENGTH, "output buffer too small or image already read");
        return GIC_BAD_CALL;
    }
    dec->read_done = 1;
    if (setjmp(dec->jump)) {
        return gic_jpeg_report(dec, message);
    }
    jpeg_start_decompress(c);
    if (c->output_width != c->image_width || c->output_height != c->image_height
        || (size_t)c->output_width * (size_t)c->output_components != row_bytes) {
        snprintf(message, GIC_MESSAGE_LENGTH, "decoder output layout differs from the header");
        return GIC_CORRUPT;
    }
    while (c->output_scanline < c->output_height) {
        JSAMPROW row = pixels + (size_t)c->output_scanline * row_bytes;
        if (jpeg_read_scanlines(c, &row, 1) != 1) {
            snprintf(message, GIC_MESSAGE_LENGTH, "premature end of JPEG data");
            return GIC_TRUNCATED;
        }
    }
    // jpeg_finish_decompress is skipped on purpose: whatever follows the last scanline (a
    // missing EOI, trailing bytes) cannot change the pixels.
    return GIC_OK;
}

void gic_jpeg_close(gic_jpeg *decoder) {
    if (!decoder) return;
    // jpeg_destroy never raises an error, so it needs no setjmp frame.
    jpeg_destroy_decompress(&decoder->cinfo);
    free(decoder);
}
