/*
 * Bytes widened to uint32 lanes and narrowed back with saturation, SSE2 and AVX2, for the whole-image box
 * blur passes (filter_blur.c). Private to Filters/.
 */
#ifndef IF_FILTER_LANES_H
#define IF_FILTER_LANES_H

#include <stdint.h>
#include <string.h>

typedef uint32_t v8u __attribute__((vector_size(32)));
#define SPLAT8U(x) ((v8u){(x), (x), (x), (x), (x), (x), (x), (x)})

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
/* 8 bytes -> 8 uint32 lanes; 16 uint32 lanes in 0..255 -> 16 bytes. */
#define WIDEN_SSE2(p)                                                                                        \
    (__extension__({                                                                                         \
        __m128i z_ = _mm_setzero_si128();                                                                    \
        __m128i b_ = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)(p)), z_);             \
        __m128i l_ = _mm_unpacklo_epi16(b_, z_), h_ = _mm_unpackhi_epi16(b_, z_);                            \
        v8u v_;                                                                                              \
        memcpy(&v_, &l_, 16);                                                                                \
        memcpy((char *)&v_ + 16, &h_, 16);                                                                   \
        v_;                                                                                                  \
    }))
#define NARROW_SSE2(dst, x, y)                                                                               \
    do {                                                                                                     \
        __m128i a_, b_, c_, d_;                                                                              \
        memcpy(&a_, &(x), 16);                                                                               \
        memcpy(&b_, (const char *)&(x) + 16, 16);                                                            \
        memcpy(&c_, &(y), 16);                                                                               \
        memcpy(&d_, (const char *)&(y) + 16, 16);                                                            \
        _mm_storeu_si128((__m128i *)(void *)(dst),                                                           \
                         _mm_packus_epi16(_mm_packs_epi32(a_, b_), _mm_packs_epi32(c_, d_)));                \
    } while (0)
#define WIDEN_AVX2(p) ((v8u)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p))))
#define NARROW_AVX2(dst, x, y)                                                                               \
    do {                                                                                                     \
        __m256i w_ = _mm256_permute4x64_epi64(_mm256_packs_epi32((__m256i)(x), (__m256i)(y)), 0xD8);         \
        _mm_storeu_si128((__m128i *)(void *)(dst),                                                           \
                         _mm_packus_epi16(_mm256_castsi256_si128(w_), _mm256_extracti128_si256(w_, 1)));     \
    } while (0)
#else
#define WIDEN_SSE2(p)                                                                                        \
    (__extension__({                                                                                         \
        const uint8_t *q_ = (const uint8_t *)(p);                                                            \
        (v8u){q_[0], q_[1], q_[2], q_[3], q_[4], q_[5], q_[6], q_[7]};                                       \
    }))
#define NARROW_SSE2(dst, x, y)                                                                               \
    do {                                                                                                     \
        for (int l_ = 0; l_ < 8; l_++) {                                                                     \
            (dst)[l_] = (uint8_t)(x)[l_];                                                                    \
            (dst)[8 + l_] = (uint8_t)(y)[l_];                                                                \
        }                                                                                                    \
    } while (0)
#endif

#endif
