/* A test-only plugin that passes every type through libffi and back. */
#include <taskhost/plugin.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool not_bool(bool b) { return !b; }
static int32_t negate32(int32_t x) { return -x; }
static int64_t negate64(int64_t x) { return -x; }
static uint64_t halve64(uint64_t x) { return x / 2; }
static double half(double x) { return x / 2; }
static char *shout(const char *s) {
    size_t n = strlen(s);
    char *out = malloc(n + 2);
    for (size_t i = 0; i < n; i++) out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
    out[n] = '!';
    out[n + 1] = 0;
    return out;
}
static void reverse_bytes(th_context *ctx, const unsigned char *data, size_t length) {
    unsigned char *out = malloc(length ? length : 1);
    for (size_t i = 0; i < length; i++) out[i] = data[length - 1 - i];
    th_return_bytes(ctx, out, length);
    free(out);
}
/* `count` bytes of value `byte`: a big bytes result on demand. */
static void filled(th_context *ctx, int64_t count, int32_t byte) {
    if (count < 0) {
        th_set_error(ctx, "a negative count");
        return;
    }
    unsigned char *out = malloc(count ? (size_t)count : 1);
    if (!out) {
        th_set_error(ctx, "out of memory");
        return;
    }
    memset(out, byte, (size_t)count);
    th_return_bytes(ctx, out, (size_t)count);
    free(out);
}
static int64_t byte_sum(const unsigned char *data, size_t length) {
    int64_t sum = 0;
    for (size_t i = 0; i < length; i++) sum += data[i];
    return sum;
}
/* Mixed types and more than six integer arguments: some go on the stack. */
static double mixed(int32_t a, int64_t b, double c, bool d, uint64_t e, const char *f, int32_t g, int64_t h, double i) {
    return (double)a + (double)b + c + (d ? 1000 : 0) + (double)e + (double)strlen(f) + (double)g + (double)h + i;
}
static int32_t small_negative(void) { return -7; }
static bool yes(void) { return true; }
static void nothing(void) {}
static char *null_string(void) { return NULL; }

static const th_param p_bool[] = {{"b", TH_BOOL}};
static const th_param p_i32[] = {{"x", TH_INT32}};
static const th_param p_i64[] = {{"x", TH_INT64}};
static const th_param p_u64[] = {{"x", TH_UINT64}};
static const th_param p_f64[] = {{"x", TH_DOUBLE}};
static const th_param p_str[] = {{"s", TH_STRING}};
static const th_param p_bytes[] = {{"data", TH_BYTES}};
static const th_param p_filled[] = {{"count", TH_INT64}, {"byte", TH_INT32}};
static const th_param p_mixed[] = {{"a", TH_INT32}, {"b", TH_INT64}, {"c", TH_DOUBLE}, {"d", TH_BOOL}, {"e", TH_UINT64},
                                   {"f", TH_STRING}, {"g", TH_INT32}, {"h", TH_INT64}, {"i", TH_DOUBLE}};

static const th_task tasks[] = {
    {.name = "not_bool", .function = TH_FN(not_bool), .result = TH_BOOL, .params = p_bool, .param_count = 1},
    {.name = "negate32", .function = TH_FN(negate32), .result = TH_INT32, .params = p_i32, .param_count = 1},
    {.name = "negate64", .function = TH_FN(negate64), .result = TH_INT64, .params = p_i64, .param_count = 1},
    {.name = "halve64", .function = TH_FN(halve64), .result = TH_UINT64, .params = p_u64, .param_count = 1},
    {.name = "half", .function = TH_FN(half), .result = TH_DOUBLE, .params = p_f64, .param_count = 1},
    {.name = "shout", .function = TH_FN(shout), .result = TH_STRING, .params = p_str, .param_count = 1},
    {.name = "reverse_bytes", .function = TH_FN(reverse_bytes), .result = TH_BYTES, .params = p_bytes,
     .param_count = 1, .flags = TH_TASK_CONTEXT},
    {.name = "filled", .function = TH_FN(filled), .result = TH_BYTES, .params = p_filled, .param_count = 2,
     .flags = TH_TASK_CONTEXT},
    {.name = "byte_sum", .function = TH_FN(byte_sum), .result = TH_INT64, .params = p_bytes, .param_count = 1},
    {.name = "mixed", .function = TH_FN(mixed), .result = TH_DOUBLE, .params = p_mixed, .param_count = 9},
    {.name = "small_negative", .function = TH_FN(small_negative), .result = TH_INT32},
    {.name = "yes", .function = TH_FN(yes), .result = TH_BOOL},
    {.name = "nothing", .function = TH_FN(nothing), .result = TH_VOID},
    {.name = "null_string", .function = TH_FN(null_string), .result = TH_STRING},
};
TH_EXPORT_PLUGIN("types", "1.0.0", "Every type through libffi", tasks)
