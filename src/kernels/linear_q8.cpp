// Quantized weights × int8 activations (ActivationPrecision::Int8):
//   y_n = Σ_g s_{n,g} · d_g · Σ_{k∈g} q_{n,k} · x_q[k]  +  β_{n,g} · Σ_{k∈g} x[k]
// The integer sums are exact, so every target gives the same dots; only the float epilogue
// rounds differently. Four implementations:
//  - AVX-512 VNNI + VBMI (Highway's AVX3_DL target): 64 codes at a time become bytes in natural
//    order with one masked load, vpermb (each qword gets the b bytes holding 8 codes) and
//    vpmultishiftqb (each byte picks its code's bit offset), then vpdpbusd multiplies the
//    unsigned codes by the signed activations and sums 4 neighbours into each int32 lane.
//    Masked loads never touch bytes past the row, so unpadded MLX tensors are safe.
//  - AVX2 and AVX3 (AVX-512 without VBMI): 256-bit byte dot products, vpmaddubsw + vpmaddwd
//    or vpdpbusd where AVX-VNNI / AVX-512 VNNI exist (linear_q8_avx2.cpp).
//  - NEON: 128-bit sdot where the dot-product extension exists, else smull + sadalp
//    (linear_q8_neon.cpp).
//  - every other target: codes unpacked per row into bytes, integer dots the compiler
//    vectorises for that target. Correct everywhere; slower than the F32 path on those CPUs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header
#define HWY_WANT_AVX3_DL  // Highway 1.0.3 compiles AVX3_DL (Ice Lake and later) only on request

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/linear_q8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {

// ---- every target ------------------------------------------------------------------------
namespace hn = hwy::HWY_NAMESPACE;

// Bit-identical to reference::quantize_activations_q8: the same float max, 127/m, x·(127/m),
// and round-half-even of that float product (Round: roundps / frintn). Not the magic-number
// trick (v + 1.5·2^23) − 1.5·2^23: the compiler may fuse its multiply and add, which rounds
// the exact product instead and differs where the float product is exactly a half.
bool HaveVnni();
int Dot256();
int Dot128();
// Tokens the VNNI kernels take together: every token of a batch of up to 8 in one tile (each
// weight block unpacked once for all of them), larger batches in equal tiles of at most 8
// (9 → 5 + 4, not 8 + 1: a tile of one pays the unpack for one token).
[[maybe_unused]] constexpr int kTokenTile = 8;
inline int VnniTile(int64_t left) {
  const int64_t tiles = (left + kTokenTile - 1) / kTokenTile;
  return static_cast<int>((left + tiles - 1) / tiles);
}

void Q8QuantizeInput(int bits, int group_size, const float* x, int64_t tokens, int64_t cols,
                     int64_t padded_cols, int8_t* values, float* deltas, int8_t* row) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(di)> d8;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const int64_t groups = cols / group_size;
  const bool blocks32 = Dot256() >= 0 || Dot128() >= 0;
  for (int64_t t = 0; t < tokens; ++t) {
    const float* xt = x + t * cols;
    int8_t* v = row;
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = xt + g * group_size;
      auto vmax = hn::Zero(df);
      for (int64_t j = 0; j < group_size; j += n) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(df, xg + j)));
      const float m = hn::GetLane(hn::MaxOfLanes(df, vmax));
      const float inv = m > 0.0f ? 127.0f / m : 0.0f;
      deltas[t * groups + g] = m / 127.0f;
      const auto vinv = hn::Set(df, inv);
      for (int64_t j = 0; j < group_size; j += n) {
        const auto r = hn::Round(hn::Mul(hn::LoadU(df, xg + j), vinv));
        const auto q = hn::Min(hn::Max(hn::ConvertTo(di, r), hn::Set(di, -127)), hn::Set(di, 127));
        hn::StoreU(hn::DemoteTo(d8, q), d8, v + g * group_size + j);
      }
    }
    std::fill(v + cols, v + padded_cols, int8_t{0});
    if (!HaveVnni()) {  // one row per token, as is or in the 32-code block order
      if (blocks32) q8_arrange_blocks32(bits, v, padded_cols);
      std::copy(v, v + padded_cols, values + t * padded_cols);
      continue;
    }
    if (bits == 2 || bits == 4) {
      // Reorder each chunk of 64·P codes (P = 8 / bits codes per byte) plane by plane: position
      // m·64 + j holds code P·j + m, the code that plane m of byte j of the weights holds.
      const int planes = 8 / bits, chunk = 64 * planes;
      int8_t tmp[256];
      for (int64_t c0 = 0; c0 < padded_cols; c0 += chunk) {
        std::copy(v + c0, v + c0 + chunk, tmp);
        for (int m = 0; m < planes; ++m)
          for (int j = 0; j < 64; ++j) v[c0 + m * 64 + j] = tmp[planes * j + m];
      }
    }
    // Interleave the tokens of each tile the kernels process together: 64-byte vector s of
    // token t0 + i goes to (s·tt + i)·64 within the tile, one base pointer for all of them.
    int64_t t0 = 0;
    while (t0 + VnniTile(tokens - t0) <= t) t0 += VnniTile(tokens - t0);
    const int tt = VnniTile(tokens - t0);
    const int64_t i = t - t0;
    int8_t* tile = values + t0 * padded_cols;
    for (int64_t s = 0; s < padded_cols / 64; ++s)
      std::copy(v + 64 * s, v + 64 * s + 64, tile + (s * tt + i) * 64);
  }
}

void RowsPortable(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                  float* y, int64_t y_stride) {
  const int64_t groups = in.groups;
  const int g = w.group_size;
  std::vector<uint8_t> codes(static_cast<size_t>(w.cols));
  std::vector<float> s(groups), b(groups);
  for (int64_t r = row_begin; r < row_end; ++r) {
    unpack_code_bytes(w.data + static_cast<size_t>(r) * w.row_bytes(), w.bits, w.cols, codes.data());
    for (int64_t gi = 0; gi < groups; ++gi) {
      s[gi] = load_float(w.scales, w.dtype, r * groups + gi);
      b[gi] = load_float(w.biases, w.dtype, r * groups + gi);
    }
    for (int64_t t = 0; t < in.tokens; ++t) {
      const int8_t* xq = in.values + t * in.padded_cols;
      const float* d = in.deltas + t * groups;
      const float* gs = in.group_sums + t * groups;
      float acc = 0.0f;
      for (int64_t gi = 0; gi < groups; ++gi) {
        int32_t dot = 0;
        for (int j = 0; j < g; ++j) dot += codes[gi * g + j] * xq[gi * g + j];
        acc += s[gi] * d[gi] * static_cast<float>(dot) + b[gi] * gs[gi];
      }
      y[t * y_stride + r] = acc;
    }
  }
}

#if HWY_TARGET == HWY_AVX3_DL
#include "kernels/linear_q8_vnni-inl.h"
#endif  // HWY_TARGET == HWY_AVX3_DL

// Whether this target runs the VNNI kernels (Highway's AVX3_DL group implies VNNI and VBMI on
// every CPU we know; check anyway).
bool HaveVnni() {
#if HWY_TARGET == HWY_AVX3_DL
  return tf::simd::x86_features().avx512vnni && tf::simd::x86_features().avx512vbmi;
#else
  return false;
#endif
}


// Which 256-bit kernel this target runs (a Q8Dot256), or -1 for the portable one. AVX2 pairs
// with AVX-VNNI (Alder Lake and later), AVX3 with AVX-512 VNNI (Cascade Lake); forcing the AVX2
// target on an AVX-512 machine therefore runs exactly what a plain AVX2 CPU runs.
int Dot256() {
#if HWY_TARGET == HWY_AVX2
  static const int dot = q8_dot256_supported(Q8Dot256::AvxVnni)   ? int(Q8Dot256::AvxVnni)
                         : q8_dot256_supported(Q8Dot256::Maddubs) ? int(Q8Dot256::Maddubs)
                                                                  : -1;
  return dot;
#elif HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  static const int dot = q8_dot256_supported(Q8Dot256::Avx512Vnni) ? int(Q8Dot256::Avx512Vnni)
                         : q8_dot256_supported(Q8Dot256::Maddubs)  ? int(Q8Dot256::Maddubs)
                                                                   : -1;
  return HaveVnni() ? -1 : dot;
#else
  return -1;
#endif
}

// Which 128-bit ARM kernel this target runs (a Q8Dot128), or -1 for the portable one.
int Dot128() {
#if HWY_TARGET == HWY_NEON
  static const int dot = q8_dot128_supported(Q8Dot128::DotProd) ? int(Q8Dot128::DotProd)
                                                                 : int(Q8Dot128::Widening);
  return dot;
#else
  return -1;
#endif
}

// Whether the Int8 path beats F32 on this target (x86: measured, bench/RESULTS.md; ARM: sdot
// as on x86's VNNI, not measured on hardware here — see the README).
bool Int8Fast() { return HaveVnni() || Dot256() >= 0 || Dot128() == int(Q8Dot128::DotProd); }

const char* KernelName() {
  if (HaveVnni()) return "AVX-512 VNNI";
  static constexpr const char* k256[] = {"AVX2 vpmaddubsw", "AVX-VNNI", "AVX-512 VNNI ymm"};
  static constexpr const char* k128[] = {"NEON smull", "NEON sdot"};
  if (const int dot = Dot256(); dot >= 0) return k256[dot];
  if (const int dot = Dot128(); dot >= 0) return k128[dot];
  return "portable";
}

void Q8AffineRows(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                  float* y, int64_t y_stride) {
#if HWY_TARGET == HWY_AVX3_DL
  if (HaveVnni()) return RowsVnni(w, in, row_begin, row_end, y, y_stride);
#endif
  if (const int dot = Dot256(); dot >= 0)
    return q8_avx2_rows(static_cast<Q8Dot256>(dot), w, in, row_begin, row_end, y, y_stride);
  if (const int dot = Dot128(); dot >= 0)
    return q8_neon_rows(static_cast<Q8Dot128>(dot), w, in, row_begin, row_end, y, y_stride);
  RowsPortable(w, in, row_begin, row_end, y, y_stride);
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf::simd {

HWY_EXPORT(Q8AffineRows);
HWY_EXPORT(HaveVnni);
HWY_EXPORT(Int8Fast);
HWY_EXPORT(Dot256);

bool q8_fast() { return HWY_DYNAMIC_DISPATCH(Int8Fast)(); }
bool q8_vnni512() { return HWY_DYNAMIC_DISPATCH(HaveVnni)(); }
int q8_dot256() { return HWY_DYNAMIC_DISPATCH(Dot256)(); }
HWY_EXPORT(KernelName);
const char* q8_kernel_name() { return HWY_DYNAMIC_DISPATCH(KernelName)(); }
HWY_EXPORT(Q8QuantizeInput);

// Whole 256-code chunks: the widest layout any target reads (2-bit planes).
int64_t q8_padded_cols(int /*bits*/, int64_t cols) { return (cols + 255) / 256 * 256; }

void q8_quantize_input(int bits, int group_size, const float* x, int64_t tokens, int64_t cols,
                       int64_t padded_cols, int8_t* values, float* deltas, int8_t* row) {
  HWY_DYNAMIC_DISPATCH(Q8QuantizeInput)(bits, group_size, x, tokens, cols, padded_cols, values, deltas,
                                        row);
}

void q8_affine_rows(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                    float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(Q8AffineRows)(w, in, row_begin, row_end, y, y_stride);
}

}  // namespace tf::simd
#endif  // HWY_ONCE
