// Quantized weights × int8 activations for batches of tokens (prefill), AVX-512 VNNI:
// the same math as ActivationPrecision::Int8 (reference::matmul_q8),
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k],
// laid out so the integer dot products dominate. The row-at-a-time kernel (linear_q8.cpp) puts
// 64 codes of one row in a vector, so every group of every (row, token) pair ends in a convert,
// a broadcast and a multiply-add next to its one vpdpbusd. Here a vector holds 16 *rows*: lane
// r has 4 consecutive codes of row r, the activations' matching 4 bytes are broadcast, and one
// vpdpbusd advances 16 rows by 4 codes. A group's epilogue (one convert and two multiply-adds
// per token) then serves 16 rows, and the codes are unpacked once per call and reused by every
// token. The rows' codes are "transposed" into that layout per block of 16 rows (unpack 64
// codes per row as bytes, then a 16 × 16 dword transpose), which a batch of ≥ 4 tokens repays.
//
// x86-64: chosen at run time (AVX-512 F/BW/VBMI + VNNI; on the AVX2 target with AVX-VNNI the
// 256-bit tiles of linear_q8_tiles_avx2.cpp, dispatched from here). ARM64: the sdot / i8mm tile kernels of
// linear_q8_tiles_neon.cpp, dispatched from here. Elsewhere q8_tiles_fast() is false and
// linear.cpp keeps the row kernels.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TF_TILES_X86 1
#define TF_TILES_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))
#endif

namespace tf::simd {

// Whole 64-byte lines per token. (A stride kept off multiples of 512 bytes ran a bare copy of the
// AVX2 tile loop ~20 % faster on a Zen 3, but not the kernel: bench/RESULTS.md, "Tile kernel
// unrolled".)
int64_t q8_tiles_stride(int64_t cols) { return (cols + 63) / 64 * 64; }

#if TF_TILES_X86
namespace {

#include "kernels/linear_q8_tiles_x86-inl.h"

// Bit-identical to reference::quantize_activations_q8 (same float max, 127/m, product,
// round-half-even, clamp to ±127).
TF_TILES_TARGET void QuantizeToken(const float* x, int64_t cols, int group_size, int8_t* q,
                                   float* d) {
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  for (int64_t g = 0; g < cols / group_size; ++g) {
    const float* xg = x + g * group_size;
    __m512 vmax = _mm512_setzero_ps();
    for (int j = 0; j < group_size; j += 16) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(xg + j)));
    const float m = _mm512_reduce_max_ps(vmax);
    const float inv = m > 0.0f ? 127.0f / m : 0.0f;
    d[g] = m / 127.0f;
    const __m512 vinv = _mm512_set1_ps(inv);
    for (int j = 0; j < group_size; j += 16) {
      // roundscale rounds the product itself half to even (an add of 1.5·2^23 could be fused
      // into the multiply by the compiler and round the exact product instead).
      const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(xg + j), vinv),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i v = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(r), lo), hi);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * group_size + j), _mm512_cvtepi32_epi8(v));
    }
  }
}

// Codes [64·blk, 64·blk + 64) of a row as bytes (zeros past `cols`): a masked load of the
// block's 8·b bytes, a byte permute giving each qword the bytes of its 8 codes, and a
// multishift picking each code's bits.
template <int kBits>
TF_TILES_TARGET inline __m512i Codes64(const uint8_t* row, int64_t blk, int64_t cols,
                                       __m512i spread, __m512i shifts) {
  const int64_t left = std::min<int64_t>(64, cols - 64 * blk);  // 64 or 32 codes
  const int bytes = static_cast<int>(left * kBits / 8);
  const __mmask64 m = bytes >= 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1;
  const __m512i raw = _mm512_maskz_loadu_epi8(m, row + blk * 8 * kBits);
  if constexpr (kBits == 8) return raw;
  const __m512i q = _mm512_multishift_epi64_epi8(shifts, _mm512_permutexvar_epi8(spread, raw));
  // Past a final half block the loaded bytes are zero, so those codes come out 0.
  return _mm512_and_si512(q, _mm512_set1_epi8(static_cast<char>((1u << kBits) - 1u)));
}

// Scales or biases of rows [r0, r0 + 16) as float, transposed to [groups][16] (rows past
// `rows` are 0): 16 groups of 16 rows at a time, converted in vectors and transposed.
TF_TILES_TARGET void TransposeScales(const uint8_t* src, DType dt, int64_t groups, int64_t r0,
                                     int64_t rows, float* dst) {
  const int n = static_cast<int>(std::min<int64_t>(16, rows - r0));
  const int64_t row_stride = groups * static_cast<int64_t>(dtype_size(dt));
  for (int64_t g0 = 0; g0 < groups; g0 += 16) {
    const int count = static_cast<int>(std::min<int64_t>(16, groups - g0));
    const __mmask16 m = static_cast<__mmask16>((1u << count) - 1u);
    __m512i v[16];
    for (int r = 0; r < 16; ++r) {
      if (r >= n) {
        v[r] = _mm512_setzero_si512();
        continue;
      }
      const uint8_t* row = src + (r0 + r) * row_stride;
      if (dt == DType::BF16)
        v[r] = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * g0)), 16);
      else if (dt == DType::F16)
        v[r] = _mm512_castps_si512(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * g0)));
      else
        v[r] = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, row + 4 * g0));
    }
    Transpose16(v);
    for (int g = 0; g < count; ++g) _mm512_storeu_si512(dst + (g0 + g) * 16, v[g]);
  }
}

struct Block {
  std::vector<int32_t> codes;  // [k-quads][16 rows]: 4 codes of one row per dword
  std::vector<float> scales, biases;  // [groups][16]
};

// The 16-row block starting at r0 in the transposed layout.
template <int kBits>
TF_TILES_TARGET void Repack(const WeightMatrix& w, int64_t r0, int64_t r_end, int64_t blocks64,
                            Block& out) {
  alignas(64) uint8_t sp[64], sh[64];
  for (int j = 0; j < 8; ++j)
    for (int t = 0; t < 8; ++t) {
      sp[8 * j + t] = static_cast<uint8_t>(kBits * j + t);
      sh[8 * j + t] = static_cast<uint8_t>(kBits * t);
    }
  const __m512i spread = _mm512_load_si512(sp), shifts = _mm512_load_si512(sh);
  const size_t row_bytes = w.row_bytes();
  __m512i v[16];
  for (int64_t blk = 0; blk < blocks64; ++blk) {
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r)
      v[r] = r0 + r < r_end ? Codes64<kBits>(w.data + (r0 + r) * row_bytes, blk, w.cols, spread, shifts)
                             : _mm512_setzero_si512();
    Transpose16(v);
#pragma GCC unroll 16
    for (int q = 0; q < 16; ++q) _mm512_storeu_si512(out.codes.data() + (blk * 16 + q) * 16, v[q]);
  }
}

// 2-bit rows in "planes" order: the 64 raw bytes (256 codes) of each of 16 rows become 16
// dword columns by one transpose; dword j of a row holds codes 16j … 16j + 15, byte b of it
// codes 16j + 4b + p at bits 2p. Plane p, (dword >> 2p) & 0x03030303, therefore has code
// 16j + 4b + p in byte b, and is stored as quad 4j + p of the chunk. The activations are
// permuted to match (PermutePlanes2), so BlockTokens runs unchanged. Against Repack<2> this is
// one transpose per 256 codes instead of per 64, and no byte permutes.
TF_TILES_TARGET void RepackPlanes2(const WeightMatrix& w, int64_t r0, int64_t r_end, Block& out) {
  const int64_t row_bytes = static_cast<int64_t>(w.row_bytes());
  const int64_t chunks = (row_bytes + 63) / 64;
  const __m512i mask = _mm512_set1_epi8(3);
  __m512i v[16];
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t left = std::min<int64_t>(64, row_bytes - 64 * c);
    const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r)
      v[r] = r0 + r < r_end ? _mm512_maskz_loadu_epi8(m, w.data + (r0 + r) * row_bytes + 64 * c)
                             : _mm512_setzero_si512();
    Transpose16(v);
    int32_t* dst = out.codes.data() + c * 64 * 16;
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
      _mm512_storeu_si512(dst + (4 * j + 0) * 16, _mm512_and_si512(v[j], mask));
      _mm512_storeu_si512(dst + (4 * j + 1) * 16, _mm512_and_si512(_mm512_srli_epi32(v[j], 2), mask));
      _mm512_storeu_si512(dst + (4 * j + 2) * 16, _mm512_and_si512(_mm512_srli_epi32(v[j], 4), mask));
      _mm512_storeu_si512(dst + (4 * j + 3) * 16, _mm512_and_si512(_mm512_srli_epi32(v[j], 6), mask));
    }
  }
}

// The activations of a 2-bit matrix in planes order: within every 16 bytes, position 4p + b
// takes x[4b + p] (a 4 × 4 byte transpose, its own inverse), so quad 4j + p of the
// activations meets plane p of the codes.
TF_TILES_TARGET void PermutePlanes2(int8_t* q, int64_t bytes) {
  alignas(64) int8_t idx[64];
  for (int i = 0; i < 64; ++i) idx[i] = static_cast<int8_t>(4 * (i % 4) + (i % 16) / 4);
  const __m512i perm = _mm512_load_si512(idx);
  for (int64_t i = 0; i < bytes; i += 64)
    _mm512_storeu_si512(q + i, _mm512_shuffle_epi8(_mm512_loadu_si512(q + i), perm));
}

// kT tokens (t0 …) against one repacked 16-row block: y[t][r0 + r] for the rows that exist.
template <int kT>
TF_TILES_TARGET void BlockTokens(const Block& b, int64_t groups, int group_size, const int8_t* xq,
                                 int64_t x_stride, const float* deltas, const float* gsums,
                                 int64_t t0, float* y, int64_t y_stride, int64_t r0,
                                 __mmask16 rows) {
  __m512 f[kT];
  #pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) f[t] = _mm512_setzero_ps();
  const int quads = group_size / 4;
  const int8_t* x0 = xq + t0 * x_stride;
  for (int64_t g = 0; g < groups; ++g) {
    __m512i acc[kT];
    #pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) acc[t] = _mm512_setzero_si512();
    const int32_t* c = b.codes.data() + g * quads * 16;
    const int8_t* xg = x0 + g * group_size;
    for (int q = 0; q < quads; ++q) {
      const __m512i cv = _mm512_loadu_si512(c + q * 16);
      #pragma GCC unroll 8
      for (int t = 0; t < kT; ++t) acc[t] = DotBroadcast(acc[t], cv, xg + t * x_stride + 4 * q);
    }
    const __m512 s = _mm512_loadu_ps(b.scales.data() + g * 16);
    const __m512 bias = _mm512_loadu_ps(b.biases.data() + g * 16);
    #pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      const int64_t ti = (t0 + t) * groups + g;
      f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(s, _mm512_set1_ps(deltas[ti])), f[t]);
      f[t] = _mm512_fmadd_ps(bias, _mm512_set1_ps(gsums[ti]), f[t]);
    }
  }
  #pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * y_stride + r0, rows, f[t]);
}

// Rows [r0, r1) of codes, scales and biases towards L2.
inline void PrefetchBlock(const WeightMatrix& w, int64_t r0, int64_t r1) {
  const size_t row_bytes = w.row_bytes();
  const size_t srow = static_cast<size_t>(w.cols / w.group_size) * dtype_size(w.dtype);
  const auto ahead = [](const uint8_t* p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
  };
  const size_t rows = static_cast<size_t>(r1 - r0);
  ahead(w.data + r0 * row_bytes, rows * row_bytes);
  ahead(w.scales + r0 * srow, rows * srow);
  ahead(w.biases + r0 * srow, rows * srow);
}

template <int kBits>
TF_TILES_TARGET void RowsT(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                           int64_t row_end, float* y, int64_t y_stride) {
  const int64_t groups = w.cols / w.group_size;
  const int64_t blocks64 = (w.cols + 63) / 64;
  thread_local Block b;
  // Planes order writes whole 256-code chunks.
  b.codes.resize(static_cast<size_t>((kBits == 2 ? (w.cols + 255) / 256 * 4 : blocks64) * 16 * 16));
  b.scales.resize(static_cast<size_t>(groups * 16));
  b.biases.resize(static_cast<size_t>(groups * 16));
  // All lines of the first block in flight at once (the repack asks for 16 at a time).
  PrefetchBlock(w, row_begin, std::min<int64_t>(row_end, row_begin + 16));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += 16) {
    const int64_t n = std::min<int64_t>(16, row_end - r0);
    const __mmask16 rows = static_cast<__mmask16>((1u << n) - 1u);
    // Rows past row_end (another task's, or past the matrix) are zeros, masked at the store.
    if constexpr (kBits == 2)
      RepackPlanes2(w, r0, row_end, b);
    else
      Repack<kBits>(w, r0, row_end, blocks64, b);
    TransposeScales(w.scales, w.dtype, groups, r0, row_end, b.scales.data());
    TransposeScales(w.biases, w.dtype, groups, r0, row_end, b.biases.data());
    // The weights of a prefill's routed experts come from DRAM: ask for the next block's codes
    // and scales now, so they arrive while this block's products run (the repack would
    // otherwise wait on 16 interleaved row streams).
    if (r0 + 16 < row_end) PrefetchBlock(w, r0 + 16, std::min<int64_t>(row_end, r0 + 32));
    int64_t t = 0;
    for (; t + 8 <= in.tokens; t += 8)
      BlockTokens<8>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows);
    const int64_t left = in.tokens - t;
    switch (left) {
      case 7: BlockTokens<7>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      case 6: BlockTokens<6>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      case 5: BlockTokens<5>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      case 4: BlockTokens<4>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      case 3: BlockTokens<3>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      case 2: BlockTokens<2>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      case 1: BlockTokens<1>(b, groups, w.group_size, in.values, in.stride, in.deltas, in.group_sums, t, y, y_stride, r0, rows); break;
      default: break;
    }
  }
}

}  // namespace

namespace {
// The AVX-512 VNNI tiles beside the 512-bit row kernels; on a run whose Highway target is AVX2
// or AVX3 with a 256-bit row kernel, the 256-bit tiles of linear_q8_tiles_avx2.cpp with that
// kernel's byte dot product. A run (or test) that limits Highway to a lower target gets that
// target's kernels throughout.
bool tiles512() {
  return HaveTiles512Features() && q8_vnni512();
}
bool tiles256() { return !q8_vnni512() && q8_dot256() >= 0; }
}  // namespace

bool q8_tiles_fast() { return tiles512() || tiles256(); }

void q8_tiles_quantize(int bits, const float* x, int64_t tokens, int64_t cols, int group_size,
                       int8_t* values, float* deltas) {
  const int64_t stride = q8_tiles_stride(cols);
  if (!tiles512())
    return q8_avx2_tiles_quantize(bits, x, tokens, cols, group_size, stride, values, deltas);
  const int64_t groups = cols / group_size;
  for (int64_t t = 0; t < tokens; ++t) {
    int8_t* q = values + t * stride;
    QuantizeToken(x + t * cols, cols, group_size, q, deltas + t * groups);
    std::fill(q + cols, q + stride, int8_t{0});
    if (bits == 2) PermutePlanes2(q, stride);
  }
}

void q8_tiles_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                   int64_t row_end, float* y, int64_t y_stride) {
  if (!tiles512())
    return q8_avx2_tiles_rows(static_cast<Q8Dot256>(q8_dot256()), w, in, row_begin, row_end, y,
                              y_stride);
  with_affine_bits(w.bits, [&](auto bits) {
    RowsT<decltype(bits)::value>(w, in, row_begin, row_end, y, y_stride);
  });
}

#elif defined(__aarch64__)  // linear_q8_tiles_neon.cpp

namespace {
// usmmla where the CPU has it (twice sdot's products per instruction), else sdot.
Q8Tile128 best_tile128() {
  static const Q8Tile128 kind =
      q8_tile128_supported(Q8Tile128::I8mm) ? Q8Tile128::I8mm : Q8Tile128::DotProd;
  return kind;
}
}  // namespace

// Beside the sdot row kernel only: on ARM, q8_fast() holds exactly when the running Highway
// target is NEON on a CPU with the dot-product extension (linear_q8.cpp).
bool q8_tiles_fast() { return q8_fast() && q8_tile128_supported(Q8Tile128::DotProd); }
void q8_tiles_quantize(int, const float* x, int64_t tokens, int64_t cols, int group_size,
                       int8_t* values, float* deltas) {
  q8_neon_tiles_quantize(x, tokens, cols, group_size, q8_tiles_stride(cols), values, deltas);
}
void q8_tiles_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                   int64_t row_end, float* y, int64_t y_stride) {
  q8_neon_tiles_rows(best_tile128(), w, in, row_begin, row_end, y, y_stride);
}

#else  // neither: never chosen (q8_tiles_fast() is false)

bool q8_tiles_fast() { return false; }
void q8_tiles_quantize(int, const float*, int64_t, int64_t, int, int8_t*, float*) {}
void q8_tiles_rows(const WeightMatrix&, const Q8TileInput&, int64_t, int64_t, float*, int64_t) {}

#endif

}  // namespace tf::simd
