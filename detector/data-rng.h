// data-rng.h - seeds for the data stage's random streams: one splitmix64 stream (alrp.h's
// struct alrp_rng) per (seed, a, b, c), e.g. (seed, split, image) for the shapes generator and
// (seed, epoch, position) for the loader's augmentation, so that any thread can start any
// stream and results never depend on the order in which work is done.
#ifndef DET_DATA_RNG_H
#define DET_DATA_RNG_H

#include <stdint.h>

// splitmix64's finaliser: a bijective mix of 64 bits
static inline uint64_t data_mix64(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t data_seed3(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    uint64_t h = data_mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = data_mix64(h ^ (a + 0x632be59bd9b4e019ULL));
    h = data_mix64(h ^ (b + 0x8cb92ba72f3d8dd7ULL));
    h = data_mix64(h ^ (c + 0xd1b54a32d192ed03ULL));
    return h;
}

#endif // DET_DATA_RNG_H
