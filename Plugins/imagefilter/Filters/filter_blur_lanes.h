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

/* MULHU / MULHS: the high 16 bits of each unsigned / signed 16 x 16 product (as the unsigned type). WIDEN16(p):
   LANES bytes at p as words. NARROW16(p, x): words in 0..255 to LANES bytes at p. NARROW16S(p, x): signed
   words to LANES bytes at p, clamped to 0..255. */
#define MULHU_SSE2(a, b) ((v8u16)_mm_mulhi_epu16((__m128i)(a), (__m128i)(b)))
#define MULHS_SSE2(a, b) ((v8u16)_mm_mulhi_epi16((__m128i)(a), (__m128i)(b)))
#define WIDEN16_SSE2(p)                                                                                      \
    ((v8u16)_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)(p)), _mm_setzero_si128()))
#define NARROW16S_SSE2(p, x)                                                                                 \
    _mm_storel_epi64((__m128i *)(void *)(p), _mm_packus_epi16((__m128i)(x), (__m128i)(x)))
#define NARROW16_SSE2 NARROW16S_SSE2

#define MULHU_AVX2(a, b) ((v16u16)_mm256_mulhi_epu16((__m256i)(a), (__m256i)(b)))
#define MULHS_AVX2(a, b) ((v16u16)_mm256_mulhi_epi16((__m256i)(a), (__m256i)(b)))
#define WIDEN16_AVX2(p) ((v16u16)_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p))))
#define NARROW16S_AVX2(p, x)                                                                                 \
    _mm_storeu_si128((__m128i *)(void *)(p),                                                                 \
                     _mm256_castsi256_si128(                                                                 \
                         _mm256_permute4x64_epi64(_mm256_packus_epi16((__m256i)(x), (__m256i)(x)), 0xD8)))
#define NARROW16_AVX2 NARROW16S_AVX2

#define MULHU_AVX512(a, b) ((v32u16)_mm512_mulhi_epu16((__m512i)(a), (__m512i)(b)))
#define MULHS_AVX512(a, b) ((v32u16)_mm512_mulhi_epi16((__m512i)(a), (__m512i)(b)))
#define WIDEN16_AVX512(p) ((v32u16)_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(p))))
#define NARROW16_AVX512(p, x) _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvtepi16_epi8((__m512i)(x)))
#define NARROW16S_AVX512(p, x)                                                                               \
    _mm256_storeu_si256((__m256i *)(void *)(p),                                                              \
                        _mm512_cvtusepi16_epi8(_mm512_max_epi16((__m512i)(x), _mm512_setzero_si512())))

#endif
