/* Reading a file and choosing its decoder by content, not by name. */
#include "if_codec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int if_check_pixels(const char *name, uint64_t width, uint64_t height, int64_t max_pixels, char *err,
                    size_t err_size) {
    uint64_t limit = max_pixels > 0 ? (uint64_t)max_pixels : (uint64_t)IF_DEFAULT_MAX_PIXELS;
    uint64_t pixels = width * height;
    if (pixels > limit) {
        snprintf(err, err_size,
                 "%s: Image size (%llu pixels) exceeds limit of %llu pixels, could be decompression bomb DOS attack.",
                 name, (unsigned long long)pixels, (unsigned long long)limit);
        return -1;
    }
    if (width == 0 || height == 0) {
        snprintf(err, err_size, "%s: the image has no pixels (%llux%llu)", name, (unsigned long long)width,
                 (unsigned long long)height);
        return -1;
    }
    return 0;
}

int if_is_jpeg(const uint8_t *data, size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

int if_decode_memory(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                     if_format *format, char *err, size_t err_size) {
    static const uint8_t png_signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    if (if_is_jpeg(data, size)) {
        *format = IF_FORMAT_JPEG;
        return if_jpeg_decode(name, data, size, max_pixels, image, err, err_size);
    }
    if (size >= 8 && memcmp(data, png_signature, 8) == 0) {
        *format = IF_FORMAT_PNG;
        return if_png_decode(name, data, size, max_pixels, image, err, err_size);
    }
    snprintf(err, err_size, "cannot identify image file '%s'", name);
    return -1;
}

int if_read_file(const char *path, uint8_t **contents, size_t *length, char *err, size_t err_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (!data) {
        snprintf(err, err_size, "%s: out of memory reading %zu bytes", path, size);
        close(fd);
        return -1;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, err_size, "%s: %s", path, strerror(errno));
            close(fd);
            free(data);
            return -1;
        }
        if (n == 0) break; /* shrank meanwhile: decode what is there (truncated, most likely) */
        done += (size_t)n;
    }
    close(fd);
    *contents = data;
    *length = done;
    return 0;
}

int if_decode_file(const char *path, int64_t max_pixels, if_image *image, if_format *format, char *err,
                   size_t err_size) {
    uint8_t *data;
    size_t size;
    if (if_read_file(path, &data, &size, err, err_size) != 0) return -1;
    int rc = if_decode_memory(path, data, size, max_pixels, image, format, err, err_size);
    free(data);
    return rc;
}
