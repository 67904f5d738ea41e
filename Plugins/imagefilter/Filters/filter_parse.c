/* Filter specs as the plugin takes them: Pillow's names and parameters, Kernel(...), canonical names. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct builtin {
    const char *name;
    int n;
    double scale, offset;
    double k[25];
} builtin;

static const builtin builtins[] = {
    {"BLUR", 5, 16, 0, {1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1}},
    {"CONTOUR", 3, 1, 255, {-1, -1, -1, -1, 8, -1, -1, -1, -1}},
    {"DETAIL", 3, 6, 0, {0, -1, 0, -1, 10, -1, 0, -1, 0}},
    {"EDGE_ENHANCE", 3, 2, 0, {-1, -1, -1, -1, 10, -1, -1, -1, -1}},
    {"EDGE_ENHANCE_MORE", 3, 1, 0, {-1, -1, -1, -1, 9, -1, -1, -1, -1}},
    {"EMBOSS", 3, 1, 128, {-1, 0, 0, 0, 1, 0, 0, 0, 0}},
    {"FIND_EDGES", 3, 1, 0, {-1, -1, -1, -1, 8, -1, -1, -1, -1}},
    {"SHARPEN", 3, 16, 0, {-2, -2, -2, -2, 32, -2, -2, -2, -2}},
    {"SMOOTH", 3, 13, 0, {1, 1, 1, 1, 5, 1, 1, 1, 1}},
    {"SMOOTH_MORE", 5, 100, 0, {1, 1, 1, 1, 1, 1, 5, 5, 5, 1, 1, 5, 44, 5, 1, 1, 5, 5, 5, 1, 1, 1, 1, 1, 1}},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

static const char known_names[] =
    "CONTOUR, BLUR, DETAIL, EDGE_ENHANCE, EDGE_ENHANCE_MORE, EMBOSS, FIND_EDGES, SHARPEN, SMOOTH, SMOOTH_MORE, "
    "GaussianBlur(r), BoxBlur(r), UnsharpMask(radius,percent,threshold), MedianFilter(size), MinFilter(size), "
    "MaxFilter(size), RankFilter(size,rank), ModeFilter(size), Kernel(WxH; values; scale=S; offset=O)";

/* Shortest text that reads back as the same double. */
static void fmt_num(char *buf, size_t size, double v) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static int is_sep(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','; }

/* Parses one decimal number token (surrounding spaces allowed). */
static int parse_double(const char *s, const char *end, double *out) {
    char buf[128];
    size_t len = (size_t)(end - s);
    while (len && isspace((unsigned char)*s)) { s++; len--; }
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (*e || errno == ERANGE || isnan(v) || isinf(v)) return -1;
    /* refuse hex floats and words such as "inf" that strtod accepts */
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (!(isdigit((unsigned char)c) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return -1;
    }
    *out = v;
    return 0;
}

static int parse_long(const char *s, const char *end, long *out) {
    double v;
    if (parse_double(s, end, &v) < 0) return -1;
    if (v != floor(v) || fabs(v) > 1e15) return -1;
    for (const char *p = s; p < end; p++)
        if (*p == '.' || *p == 'e' || *p == 'E') return -1; /* Python wants an int, not a float */
    *out = (long)v;
    return 0;
}

/* Splits "a, b, c" into at most `max` ranges; returns the count or -1 if too many. */
static int split_args(const char *s, const char *end, const char **starts, const char **ends, int max) {
    const char *p = s;
    int n = 0;
    /* empty argument list */
    const char *q = s;
    while (q < end && isspace((unsigned char)*q)) q++;
    if (q == end) return 0;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *e = c ? c : end;
        if (n == max) return -1;
        starts[n] = p;
        ends[n] = e;
        n++;
        if (!c) break;
        p = c + 1;
    }
    return n;
}

static int parse_kernel(if_filter *f, const char *s, const char *end, char *err, size_t err_size) {
    /* Kernel(WxH; values; scale=S; offset=O) */
    const char *parts[8], *pends[8];
    int np = 0;
    const char *p = s;
    for (;;) {
        const char *c = memchr(p, ';', (size_t)(end - p));
        const char *e = c ? c : end;
        if (np == 8) {
            if_filter_seterr(err, err_size, "Kernel: too many ';' parts");
            return -1;
        }
        parts[np] = p;
        pends[np] = e;
        np++;
        if (!c) break;
        p = c + 1;
    }
    if (np < 2) {
        if_filter_seterr(err, err_size, "Kernel: expected Kernel(WxH; values[; scale=S][; offset=O])");
        return -1;
    }
    /* size */
    char sz[64];
    size_t len = (size_t)(pends[0] - parts[0]);
    if (len >= sizeof sz) len = sizeof sz - 1;
    memcpy(sz, parts[0], len);
    sz[len] = 0;
    int w = 0, h = 0;
    char tail = 0;
    int cnt = sscanf(sz, " %d %*[xX] %d %c", &w, &h, &tail);
    if (cnt == 1) {
        int w2;
        if (sscanf(sz, " %d %c", &w2, &tail) == 1) h = w;
        else cnt = 0;
    } else if (cnt != 2) cnt = 0;
    if (cnt == 0 || w < 1 || h < 1 || w > 64 || h > 64) {
        if_filter_seterr(err, err_size, "Kernel: bad size '%s' (expected WxH, e.g. 3x3)", sz);
        return -1;
    }
    /* values */
    double vals[64 * 64 + 1];
    int nv = 0;
    p = parts[1];
    while (p < pends[1]) {
        while (p < pends[1] && is_sep(*p)) p++;
        if (p >= pends[1]) break;
        const char *q = p;
        while (q < pends[1] && !is_sep(*q)) q++;
        double v;
        if (parse_double(p, q, &v) < 0) {
            if_filter_seterr(err, err_size, "Kernel: bad value '%.*s'", (int)(q - p), p);
            return -1;
        }
        if (nv <= 64 * 64) vals[nv] = v;
        nv++;
        p = q;
    }
    if (nv != w * h) {
        if_filter_seterr(err, err_size, "not enough coefficients in kernel");
        return -1;
    }
    double scale = 0;
    for (int i = 0; i < nv; i++) scale += vals[i]; /* Python 3.11 sum(): left to right in double */
    double offset = 0;
    for (int i = 2; i < np; i++) {
        const char *a = parts[i], *b = pends[i];
        while (a < b && isspace((unsigned char)*a)) a++;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (!eq) {
            if_filter_seterr(err, err_size, "Kernel: expected scale=S or offset=O, got '%.*s'", (int)(b - a), a);
            return -1;
        }
        const char *ke = eq;
        while (ke > a && isspace((unsigned char)ke[-1])) ke--;
        double v;
        if (parse_double(eq + 1, b, &v) < 0) {
            if_filter_seterr(err, err_size, "Kernel: bad number in '%.*s'", (int)(b - a), a);
            return -1;
        }
        if ((size_t)(ke - a) == 5 && strncasecmp(a, "scale", 5) == 0) {
            scale = v;
        } else if ((size_t)(ke - a) == 6 && strncasecmp(a, "offset", 6) == 0) {
            offset = v;
        } else {
            if_filter_seterr(err, err_size, "Kernel: unknown parameter '%.*s'", (int)(ke - a), a);
            return -1;
        }
    }
    f->kind = IF_FK_KERNEL;
    f->kw = w;
    f->kh = h;
    f->kvalues = malloc(sizeof(double) * (size_t)nv);
    if (!f->kvalues) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    memcpy(f->kvalues, vals, sizeof(double) * (size_t)nv);
    f->scale = scale;
    f->offset = offset;
    char *o = f->name;
    size_t room = sizeof f->name;
    int k = snprintf(o, room, "Kernel(%dx%d;", w, h);
    for (int i = 0; i < nv && k > 0 && (size_t)k < room; i++) {
        char num[40];
        fmt_num(num, sizeof num, vals[i]);
        k += snprintf(o + k, room - (size_t)k, " %s", num);
    }
    if (k > 0 && (size_t)k < room) {
        char s1[40], s2[40];
        fmt_num(s1, sizeof s1, scale);
        fmt_num(s2, sizeof s2, offset);
        snprintf(o + k, room - (size_t)k, "; scale=%s; offset=%s)", s1, s2);
    }
    return 0;
}

if_filter *if_filter_parse(const char *spec, char *err, size_t err_size) {
    if (err && err_size) err[0] = 0;
    if (!spec) {
        if_filter_seterr(err, err_size, "empty filter spec");
        return NULL;
    }
    const char *s = spec;
    while (isspace((unsigned char)*s)) s++;
    const char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) e--;
    const char *ne = s;
    while (ne < e && (isalnum((unsigned char)*ne) || *ne == '_')) ne++;
    size_t nlen = (size_t)(ne - s);
    const char *args = NULL, *args_end = NULL;
    const char *p = ne;
    while (p < e && isspace((unsigned char)*p)) p++;
    if (p < e) {
        if (*p != '(' || e[-1] != ')') {
            if_filter_seterr(err, err_size, "bad filter spec '%s' (expected NAME or NAME(arguments))", spec);
            return NULL;
        }
        args = p + 1;
        args_end = e - 1;
    }
    if (nlen == 0) {
        if_filter_seterr(err, err_size, "unknown filter '%s'; known filters: %s", spec, known_names);
        return NULL;
    }
    if_filter *f = calloc(1, sizeof *f);
    if (!f) {
        if_filter_seterr(err, err_size, "out of memory");
        return NULL;
    }
    const char *av[4], *ae[4];
    int na = 0;
    if (args && strncasecmp(s, "Kernel", nlen) != 0) {
        na = split_args(args, args_end, av, ae, 4);
    }
#define NAME_IS(lit) (nlen == sizeof(lit) - 1 && strncasecmp(s, lit, nlen) == 0)
#define FAIL(...) do { if_filter_seterr(err, err_size, __VA_ARGS__); if_filter_free(f); return NULL; } while (0)
    for (size_t i = 0; i < NBUILTINS; i++) {
        if (nlen == strlen(builtins[i].name) && strncasecmp(s, builtins[i].name, nlen) == 0) {
            if (na != 0) FAIL("%s takes no arguments", builtins[i].name);
            int n = builtins[i].n;
            f->kind = IF_FK_KERNEL;
            f->kw = f->kh = n;
            f->kvalues = malloc(sizeof(double) * (size_t)(n * n));
            if (!f->kvalues) FAIL("out of memory");
            memcpy(f->kvalues, builtins[i].k, sizeof(double) * (size_t)(n * n));
            f->scale = builtins[i].scale;
            f->offset = builtins[i].offset;
            snprintf(f->name, sizeof f->name, "%s", builtins[i].name);
            return f;
        }
    }
    char n1[40];
    if (NAME_IS("Kernel")) {
        if (!args) FAIL("Kernel needs arguments: Kernel(WxH; values[; scale=S][; offset=O])");
        if (parse_kernel(f, args, args_end, err, err_size) < 0) {
            if_filter_free(f);
            return NULL;
        }
        return f;
    }
    if (na < 0) FAIL("too many arguments in '%s'", spec);
    if (NAME_IS("GaussianBlur") || NAME_IS("BoxBlur")) {
        int box = NAME_IS("BoxBlur");
        const char *nm = box ? "BoxBlur" : "GaussianBlur";
        double r = 2;
        if (na > 1) FAIL("%s takes one argument (radius)", nm);
        if (na == 0 && box) FAIL("BoxBlur needs a radius: BoxBlur(r)");
        if (na == 1 && parse_double(av[0], ae[0], &r) < 0) FAIL("%s: bad radius '%.*s'", nm, (int)(ae[0] - av[0]), av[0]);
        if (box && r < 0) FAIL("radius must be >= 0");
        if (box && r >= 2147483648.0) FAIL("radius too large");
        f->kind = box ? IF_FK_BOX : IF_FK_GAUSSIAN;
        f->radius = r;
        fmt_num(n1, sizeof n1, r);
        snprintf(f->name, sizeof f->name, "%s(%s)", nm, n1);
        return f;
    }
    if (NAME_IS("UnsharpMask")) {
        double r = 2;
        long pc = 150, th = 3;
        if (na > 3) FAIL("UnsharpMask takes at most three arguments (radius, percent, threshold)");
        if (na >= 1 && parse_double(av[0], ae[0], &r) < 0) FAIL("UnsharpMask: bad radius '%.*s'", (int)(ae[0] - av[0]), av[0]);
        if (na >= 2 && (parse_long(av[1], ae[1], &pc) < 0 || pc < -2147483647L - 1 || pc > 2147483647L))
            FAIL("UnsharpMask: percent must be an integer, got '%.*s'", (int)(ae[1] - av[1]), av[1]);
        if (na >= 3 && (parse_long(av[2], ae[2], &th) < 0 || th < -2147483647L - 1 || th > 2147483647L))
            FAIL("UnsharpMask: threshold must be an integer, got '%.*s'", (int)(ae[2] - av[2]), av[2]);
        f->kind = IF_FK_UNSHARP;
        f->radius = r;
        f->percent = (int)pc;
        f->threshold = (int)th;
        fmt_num(n1, sizeof n1, r);
        snprintf(f->name, sizeof f->name, "UnsharpMask(%s,%d,%d)", n1, f->percent, f->threshold);
        return f;
    }
    if (NAME_IS("MedianFilter") || NAME_IS("MinFilter") || NAME_IS("MaxFilter") || NAME_IS("RankFilter")) {
        int rankf = NAME_IS("RankFilter");
        const char *nm = rankf ? "RankFilter" : NAME_IS("MedianFilter") ? "MedianFilter"
                                              : NAME_IS("MinFilter") ? "MinFilter" : "MaxFilter";
        long size = 3, rank = 0;
        if (rankf ? na != 2 : na > 1) FAIL(rankf ? "RankFilter takes two arguments (size, rank)" : "%s takes one argument (size)", nm);
        if (na >= 1 && parse_long(av[0], ae[0], &size) < 0) FAIL("%s: size must be an integer, got '%.*s'", nm, (int)(ae[0] - av[0]), av[0]);
        if (rankf && parse_long(av[1], ae[1], &rank) < 0) FAIL("RankFilter: rank must be an integer, got '%.*s'", (int)(ae[1] - av[1]), av[1]);
        if (size % 2 == 0) FAIL("bad filter size");
        if ((double)size * (double)size * 4 > 2147483647.0) FAIL("filter size too large");
        if (NAME_IS("MedianFilter")) rank = size * size / 2;
        else if (NAME_IS("MaxFilter")) rank = size * size - 1;
        else if (NAME_IS("MinFilter")) rank = 0;
        if (rank < 0 || rank >= size * size) FAIL("bad rank value");
        f->kind = IF_FK_RANK;
        f->size = size;
        f->rank = rank;
        if (rankf) snprintf(f->name, sizeof f->name, "RankFilter(%ld,%ld)", size, rank);
        else snprintf(f->name, sizeof f->name, "%s(%ld)", nm, size);
        return f;
    }
    if (NAME_IS("ModeFilter")) {
        long size = 3;
        if (na > 1) FAIL("ModeFilter takes one argument (size)");
        if (na == 1 && parse_long(av[0], ae[0], &size) < 0) FAIL("ModeFilter: size must be an integer, got '%.*s'", (int)(ae[0] - av[0]), av[0]);
        if (size > 2147483647L || size < -2147483647L) FAIL("ModeFilter: size out of range");
        f->kind = IF_FK_MODE;
        f->size = size;
        snprintf(f->name, sizeof f->name, "ModeFilter(%ld)", size);
        return f;
    }
    FAIL("unknown filter '%.*s'; known filters: %s", (int)nlen, s, known_names);
#undef FAIL
#undef NAME_IS
}

void if_filter_free(if_filter *filter) {
    if (!filter) return;
    free(filter->kvalues);
    free(filter);
}

const char *if_filter_name(const if_filter *filter) { return filter ? filter->name : ""; }
