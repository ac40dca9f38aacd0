// The order in which the 256-bit x86 (linear_q8_avx2.cpp) and 128-bit ARM (linear_q8_neon.cpp)
// Int8 row kernels unpack a block of 32 codes, and so the order each token's rounded
// activations are stored in for them. Cheapest unpack first, natural order only where it is free:
//   2-bit (8 bytes):  position 8m + j  holds code 4j + m   (plane m = bits 2m..2m+1 of byte j)
//   3-bit (12 bytes): position p       holds code p ^ 1    (16-bit word i = codes 2i+1, 2i)
//   4-bit (16 bytes): position 16m + j holds code 2j + m   (low nibbles, then high nibbles)
//   5-, 6-, 8-bit:    natural order.
// Each kernel file describes how its unpack produces that order.
#include <cstring>

#include "kernels/linear_internal.h"

namespace tf::simd {

void q8_arrange_blocks32(int bits, int8_t* row, int64_t padded_cols) {
  if (bits != 2 && bits != 3 && bits != 4) return;  // natural order
  int8_t tmp[32];
  for (int64_t c0 = 0; c0 + 32 <= padded_cols; c0 += 32) {
    int8_t* v = row + c0;
    std::memcpy(tmp, v, 32);
    if (bits == 2) {
      for (int m = 0; m < 4; ++m)
        for (int j = 0; j < 8; ++j) v[8 * m + j] = tmp[4 * j + m];
    } else if (bits == 3) {
      for (int p = 0; p < 32; ++p) v[p] = tmp[p ^ 1];
    } else {
      for (int m = 0; m < 2; ++m)
        for (int j = 0; j < 16; ++j) v[16 * m + j] = tmp[2 * j + m];
    }
  }
}

}  // namespace tf::simd
