/*
 * The 16-bit lanes of the box blur's row pipeline (filter_blur_fused.c) and of UnsharpMask's step
 * (filter_unsharp.c), per SIMD level: LANES samples a vector (8 SSE2, 16 AVX2, 32 AVX-512), multiply-highs,
 * bytes widened to words and words narrowed back. Private to Filters/; x86 only.
 */
#ifndef IF_FILTER_BLUR_LANES_H
#define IF_FILTER_BLUR_LANES_H

#include <immintrin.h>
#include <stdint.h>

typedef uint16_t v8u16 __attribute__((vector_size(16)));
typedef uint16_t v16u16 __attribute__((vector_size(32)));
typedef uint16_t v32u16 __attribute__((vector_size(64)));
typedef int16_t v8i16 __attribute__((vector_size(16)));
typedef int16_t v16i16 __attribute__((vector_size(32)));
typedef int16_t v32i16 __attribute__((vector_size(64)));

#define AVX2_TARGET __attribute__((target("avx2")))
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw")))

/* MULHU / MULHS: the high 16 bits of each unsigned / signed 16 x 16 product (as the unsigned type); AVG(a, b):
   (a + b + 1) >> 1 unsigned, without overflow. WIDEN16(p):
   LANES bytes at p as words. PACK16(x): words in 0..255 as LANES bytes; PACK16S(x): signed words as LANES bytes
   clamped to 0..255 (both in the low bytes of an integer vector). STORE8(p, v): those bytes to p. PACK2(a, b):
   the signed words of a then b as 2 LANES bytes clamped to 0..255, a whole vector, which STORE2 writes and
   STREAM2 writes with a non-temporal store, p aligned to 2 LANES bytes (SSE2: an ordinary store). */
#define MULHU_SSE2(a, b) ((v8u16)_mm_mulhi_epu16((__m128i)(a), (__m128i)(b)))
#define MULHS_SSE2(a, b) ((v8u16)_mm_mulhi_epi16((__m128i)(a), (__m128i)(b)))
#define AVG_SSE2(a, b) ((v8u16)_mm_avg_epu16((__m128i)(a), (__m128i)(b)))
#define WIDEN16_SSE2(p)                                                                                      \
    ((v8u16)_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)(p)), _mm_setzero_si128()))
#define PACK16S_SSE2(x) _mm_packus_epi16((__m128i)(x), (__m128i)(x))
#define PACK16_SSE2 PACK16S_SSE2
#define STORE8_SSE2(p, v) _mm_storel_epi64((__m128i *)(void *)(p), (v))
#define PACK2_SSE2(a, b) _mm_packus_epi16((__m128i)(a), (__m128i)(b))
#define STORE2_SSE2(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define STREAM2_SSE2 STORE2_SSE2

#define MULHU_AVX2(a, b) ((v16u16)_mm256_mulhi_epu16((__m256i)(a), (__m256i)(b)))
#define MULHS_AVX2(a, b) ((v16u16)_mm256_mulhi_epi16((__m256i)(a), (__m256i)(b)))
#define AVG_AVX2(a, b) ((v16u16)_mm256_avg_epu16((__m256i)(a), (__m256i)(b)))
#define WIDEN16_AVX2(p) ((v16u16)_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p))))
#define PACK16S_AVX2(x)                                                                                      \
    _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi16((__m256i)(x), (__m256i)(x)), 0xD8))
#define PACK16_AVX2 PACK16S_AVX2
#define STORE8_AVX2(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define PACK2_AVX2(a, b) _mm256_permute4x64_epi64(_mm256_packus_epi16((__m256i)(a), (__m256i)(b)), 0xD8)
#define STORE2_AVX2(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define STREAM2_AVX2(p, v) _mm256_stream_si256((__m256i *)(void *)(p), (v))

#define MULHU_AVX512(a, b) ((v32u16)_mm512_mulhi_epu16((__m512i)(a), (__m512i)(b)))
#define MULHS_AVX512(a, b) ((v32u16)_mm512_mulhi_epi16((__m512i)(a), (__m512i)(b)))
#define AVG_AVX512(a, b) ((v32u16)_mm512_avg_epu16((__m512i)(a), (__m512i)(b)))
#define WIDEN16_AVX512(p) ((v32u16)_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(p))))
#define PACK16_AVX512(x) _mm512_cvtepi16_epi8((__m512i)(x))
#define PACK16S_AVX512(x) _mm512_cvtusepi16_epi8(_mm512_max_epi16((__m512i)(x), _mm512_setzero_si512()))
#define STORE8_AVX512(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define PACK2_AVX512(a, b)                                                                                   \
    _mm512_permutexvar_epi64(_mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0),                                       \
                             _mm512_packus_epi16((__m512i)(a), (__m512i)(b)))
#define STORE2_AVX512(p, v) _mm512_storeu_si512((void *)(p), (v))
#define STREAM2_AVX512(p, v) _mm512_stream_si512((void *)(p), (v))

/* Stores the 2 LANES bytes of v at p, non-temporally when `stream` (p then aligned). */
#define PUT2(LEVEL, p, v, stream)                                                                            \
    do {                                                                                                     \
        if (stream) STREAM2_##LEVEL((p), (v));                                                               \
        else STORE2_##LEVEL((p), (v));                                                                       \
    } while (0)

/* Output rows at least this large (bytes in all) are written with non-temporal stores where aligned: they
   would not stay in L2 anyway, and the stores then read no line of the output first. */
#define STREAM_MIN_BYTES ((size_t)4 << 20)

#endif
