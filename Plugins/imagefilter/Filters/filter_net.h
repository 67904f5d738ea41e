/*
 * The selection networks shared by RankFilter (filter_rank.c) and ModeFilter (filter_mode.c):
 * one network sorts or selects over the window of 16 or 32 samples at a time (private to Filters/).
 */
#ifndef IF_FILTER_NET_H
#define IF_FILTER_NET_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

#pragma GCC visibility push(hidden)

/* ---- selection networks: any rank of a 3x3, 5x5 or 7x7 window, 16 or 32 samples at a time ----
   Batcher's odd-even merge sort on 16/32/64 wires, the missing wires being +inf (255: the rank-th smallest
   of the real values is unchanged). Comparators touching a padding wire are no-ops; comparators that cannot
   influence wire `rank` are dropped by a backward pass. Each lane runs the same network on its own window. */

typedef struct rank_net {
    int nwires, ncomp;
    uint8_t lo[2048], hi[2048];
} rank_net;

/** Builds the network for a window of n samples; rank < 0 keeps every comparator (a full sort). */
void if_net_build(rank_net *net, int n, int rank);

/* rows[dy]: padded row y+dy-m (clamped), m replicated pixels each side, 160 spare bytes at the end.
   Computes nout samples, rounded up to 4 vectors, into o (which has 160 spare bytes). */
/* Loads the (2m+1)^2 windows of four chunks of LANES samples starting at j
 * into w[][4] and runs the selection network over them: shared by the rank
 * and mode bodies below. */
#define NET_LOAD_AND_SORT(VT, LOADU, VMIN, VMAX, LANES)                                                      \
    do {                                                                                                     \
        int k = 0;                                                                                           \
        for (int dy = 0; dy < sz; dy++)                                                                      \
            for (int dx = 0; dx < sz; dx++, k++)                                                             \
                for (int u = 0; u < 4; u++) w[k][u] = LOADU(rows[dy] + j + (size_t)(u * LANES) + (size_t)dx * B); \
        for (int c = 0; c < net->ncomp; c++) {                                                               \
            VT *x = w[net->lo[c]], *y = w[net->hi[c]];                                                       \
            for (int u = 0; u < 4; u++) {                                                                    \
                VT a = x[u], b = y[u];                                                                       \
                x[u] = VMIN(a, b);                                                                           \
                y[u] = VMAX(a, b);                                                                           \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

typedef void (*net_row_fn)(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                           uint8_t *o);

#ifdef IF_X86
#define LOADU_SSE2(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STOREU_SSE2(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define LOADU_AVX2(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define STOREU_AVX2(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#else
#define LOAD1(p) (*(p))
#define STORE1(p, v) (*(p) = (v))
#define MIN1(a, b) ((a) < (b) ? (a) : (b))
#define MAX1(a, b) ((a) < (b) ? (b) : (a))
#endif

/** Pads every row by size / 2 replicated pixels and runs fn on each output row, windows clamped vertically;
 *  0, or -1 when out of memory. */
int if_net_run_rows(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, int size, int rank, net_row_fn fn);

#pragma GCC visibility pop

#endif
