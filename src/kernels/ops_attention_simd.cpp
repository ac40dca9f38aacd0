// attend_group / attend_group_partial (ops_attention.h): the query heads that share one kv head
// (GQA, 8 per kv head in Qwen3.5-35B-A3B) attend together, so each cached key and value row is
// read from memory once per token instead of once per head — at a 32K context the cache is
// 16–32 MB per kv head and layer, far beyond the caches, and decode time at long context is
// the time to stream it, or on few cores the time of its multiply-adds (docs/kernels.md, "Quantized
// KV cache", says what the kernel does per row to keep them few). One pass over the rows with an
// online softmax (running max m and sum l per head; when a block raises m, the accumulated output
// and l are scaled by e^{m_old − m_new}), in blocks of kBlock rows that stay in L1 while a tile
// of kHeadTile heads uses them; a block's scores are key-major (s[row][head]), so the softmax
// runs across heads and the Int8 key scores of ops_attention_vnni-inl.h store a row at once.
// Rows may be stored as f32, f16 or bf16 and are widened to float in registers (Highway
// PromoteTo), so the arithmetic is the reference's float32 arithmetic in another order; quantized
// rows (q8 / q4 / q2, kernels/kv_quant.h) are dequantized in registers as they are read — there
// is no float copy of the cache, and a decode step streams only the packed bytes. Highway SIMD
// picked at run time; dims that are not a multiple of the vector length run the reference.
//
// What was measured (32K context, 10 layers × 2 kv heads, 2 threads of a quiet Xeon): software
// prefetch of the next rows is worth ~30 % (without it 84–116 ms per token in f16 instead of
// 63–91); a T1 hint is the same as T0, a non-temporal one twice as slow. There the kernel waited
// on memory. On two shared Zen 5 cores it waits on arithmetic instead (bench/RESULTS.md,
// "Attention at depth"): the 8-head tile, per-group scales and Int8 key scores made q8 / q4
// 1.26–1.41× as fast at 32K with both cores (f16 unchanged within the spread).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/kv_quant.h"
#include "kernels/ops_attention.h"
#include "storage/dtype.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header
#include "kernels/linear_internal.h"  // q8_dot128_supported (ARM dot products)
#include "kernels/x86_features.h"
#define HWY_WANT_AVX3_DL  // Highway 1.0.3 compiles AVX3_DL (Ice Lake and later) only on request

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_attention_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

constexpr int64_t kBlock = kAttendBlockRows;  // 32 × 256 × (2 + 2) bytes of f16 K + V = 32 KB
constexpr int kHeadTile = 8;    // heads per register tile: the 8 query heads of a Qwen3.5 kv
                                // head, so each row is widened (or dequantized) once for all
// Rows (scores) or column vectors (values) per step beside the kHeadTile heads: targets with 32
// vector registers (AVX-512, NEON) hold 8 heads × 2 sums, those with 16 (SSE4, AVX2) 8 × 1.
constexpr int kPair = TF_HWY_TARGET_VECTOR_REGISTERS == 32 ? 2 : 1;

// The scale and bias of one group of a quantized row, broadcast (float rows: unused). The
// constructors carry the target's attributes: GCC compiles an implicit one without them, and
// on NEON it then may not inline Highway's vector constructor (a build error).
struct Affine {
  VF scale, bias;
  HWY_ATTR Affine() {}
  HWY_ATTR Affine(VF s, VF b) : scale(s), bias(b) {}
};

// How a kernel reads a cached row (a byte pointer). Codes(d, row, c) is the float vector of
// elements [c, c + L) before the group's affine map; Group(d, row, c) the scale and bias of the
// group holding element c (read once per group, not per vector); Load = both applied. Float rows
// widen in registers (Highway PromoteTo) and have no groups.
template <typename T>
struct FloatRow {
  static constexpr bool kAffine = false;
  int GroupSize(int dim) const { return dim; }
  HWY_INLINE Affine Group(DF d, const uint8_t*, int) const { return {hn::Zero(d), hn::Zero(d)}; }
  HWY_INLINE VF Codes(DF d, const uint8_t* row, int c) const {
    const T* p = reinterpret_cast<const T*>(row) + c;
    if constexpr (std::is_same_v<T, float>) {
      return hn::LoadU(d, p);
    } else {
      return hn::PromoteTo(d, hn::LoadU(hn::Rebind<T, DF>(), p));
    }
  }
  HWY_INLINE VF Load(DF d, const uint8_t* row, int c, const Affine&) const {
    return Codes(d, row, c);
  }
};

// Quantized rows (kernels/kv_quant.h): L codes of one plane are L consecutive bytes, so a
// vector is one byte load widened to int32, one shift and a mask, converted and dequantized with
// the group's scale and bias (s·q + β, one FMA). Requires P (bytes of a plane) to be a multiple
// of L, so a vector never straddles planes or groups.
template <int kBits>
struct QuantRow {
  static constexpr bool kAffine = true;
  int group_shift;  // log2 G
  int plane_shift;  // log2 P, P = G·b/8
  int groups;       // groups of the row: the bias of group g is groups after its scale
  size_t scales_at;  // bytes of codes before the bf16 scales

  int GroupSize(int) const { return 1 << group_shift; }
  HWY_INLINE float Scale(const uint8_t* row, int g) const {
    uint16_t b;
    std::memcpy(&b, row + scales_at + 2 * g, 2);
    return bf16_to_f32(b);
  }
  HWY_INLINE float Bias(const uint8_t* row, int g) const {
    uint16_t b;
    std::memcpy(&b, row + scales_at + 2 * (groups + g), 2);
    return bf16_to_f32(b);
  }
  HWY_INLINE Affine Group(DF d, const uint8_t* row, int c) const {
    const int g = c >> group_shift;
    return {hn::Set(d, Scale(row, g)), hn::Set(d, Bias(row, g))};
  }
  HWY_INLINE VF Codes(DF d, const uint8_t* row, int c) const {
    using DI = hn::RebindToSigned<DF>;
    const DI di;
    const int g = c >> group_shift;
    const int e = c & ((1 << group_shift) - 1);
    const uint8_t* bytes = row + (g << plane_shift) + (e & ((1 << plane_shift) - 1));
    auto q = hn::PromoteTo(di, hn::LoadU(hn::Rebind<uint8_t, DI>(), bytes));
    if constexpr (kBits < 8) {
      q = hn::And(hn::ShiftRightSame(q, kBits * (e >> plane_shift)),
                  hn::Set(di, (1 << kBits) - 1));
    }
    return hn::ConvertTo(d, q);
  }
  HWY_INLINE VF Load(DF d, const uint8_t* row, int c, const Affine& a) const {
    return hn::MulAdd(Codes(d, row, c), a.scale, a.bias);
  }
};

// The rows of one kv head: row p at base + p·row_bytes.
struct Rows {
  const uint8_t* keys;
  const uint8_t* values;
  size_t row_bytes;
  const uint8_t* key(int64_t p) const { return keys + static_cast<size_t>(p) * row_bytes; }
  const uint8_t* value(int64_t p) const { return values + static_cast<size_t>(p) * row_bytes; }
};

// Asks for the cache lines of bytes [from, to) of a row.
HWY_INLINE void PrefetchBytes(const uint8_t* row, size_t from, size_t to) {
  for (size_t off = from; off < to; off += 64) hwy::Prefetch(row + off);
}

// Scores and weights of a block for a tile of heads, key-major: s[p][h].
using BlockScores = float[kBlock][kHeadTile];

#if HWY_TARGET != HWY_SCALAR
// The sum of the 128-bit blocks of v (a vector of 4 floats).
template <class D>
HWY_INLINE auto SumBlocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(D()) > 4) {
    const hn::Half<D> dh;
    return SumBlocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    (void)d;
    return v;
  }
}

// Lane j < 4 of the result is the sum of all lanes of v[j]: a transposition by interleaving,
// ~3 operations a vector instead of a reduction tree each.
HWY_INLINE auto SumsOf4(VF a, VF b, VF c, VF e) {
  const DF d;
  const hn::Repartition<uint64_t, DF> d64;
  const VF ab = hn::Add(hn::InterleaveLower(a, b), hn::InterleaveUpper(d, a, b));
  const VF ce = hn::Add(hn::InterleaveLower(c, e), hn::InterleaveUpper(d, c, e));
  const auto ab64 = hn::BitCast(d64, ab), ce64 = hn::BitCast(d64, ce);
  const VF abce = hn::Add(hn::BitCast(d, hn::InterleaveLower(ab64, ce64)),
                          hn::BitCast(d, hn::InterleaveUpper(d64, ab64, ce64)));
  return SumBlocks(d, abce);
}
#endif

// s[p + j][h] = scale · Σ a[h][j] for the NH heads of K keys.
template <int NH, int K>
HWY_INLINE void StoreScores(VF (&a)[NH][K], float scale, float* s) {
  const DF d;
  HWY_UNROLL(2) for (int j = 0; j < K; ++j) {
    int h = 0;
#if HWY_TARGET != HWY_SCALAR
    if constexpr (hn::MaxLanes(DF()) >= 4) {
      for (; h + 4 <= NH; h += 4) {
        const auto v = SumsOf4(a[h][j], a[h + 1][j], a[h + 2][j], a[h + 3][j]);
        const hn::DFromV<decltype(v)> d4;
        hn::StoreU(hn::Mul(v, hn::Set(d4, scale)), d4, s + j * kHeadTile + h);
      }
    }
#endif
    for (; h < NH; ++h) s[j * kHeadTile + h] = scale * hn::GetLane(hn::SumOfLanes(d, a[h][j]));
  }
}

// s[p][h] = scale · q_h · k_{p0+p} for NH heads and p < n, K keys at a time: each key vector is
// widened once for all NH heads (a quantized key's scale and bias are read once per group), and
// K·NH independent sums hide the FMA latency. When prefetch_values is set, the block's value rows
// (same row indices) are requested meanwhile, so they arrive while the scores are computed: the
// hardware prefetchers alone stall at every 4 KiB page of a long cache.
template <int NH, int K, class Format>
HWY_INLINE int64_t ScoreKeys(const float* q, int dim, const Format& f, const Rows& rows,
                             int64_t p0, int64_t p, int64_t n, float scale, BlockScores& s,
                             bool prefetch_values) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  const int G = f.GroupSize(dim);
  for (; p + K <= n; p += K) {
    const uint8_t* k[K];
    HWY_UNROLL(2) for (int j = 0; j < K; ++j) {
      k[j] = rows.key(p0 + p + j);
      if (prefetch_values) PrefetchBytes(rows.value(p0 + p + j), 0, rows.row_bytes);
    }
    VF a[NH][K];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
      HWY_UNROLL(2) for (int j = 0; j < K; ++j) a[h][j] = hn::Zero(d);
    for (int g0 = 0; g0 < dim; g0 += G) {
      Affine af[K];
      HWY_UNROLL(2) for (int j = 0; j < K; ++j) af[j] = f.Group(d, k[j], g0);
      const int g1 = std::min(g0 + G, dim);
      for (int i = g0; i < g1; i += L) {
        VF x[K];
        HWY_UNROLL(2) for (int j = 0; j < K; ++j) x[j] = f.Load(d, k[j], i, af[j]);
        HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
          const VF qv = hn::LoadU(d, q + h * dim + i);
          HWY_UNROLL(2) for (int j = 0; j < K; ++j) a[h][j] = hn::MulAdd(qv, x[j], a[h][j]);
        }
      }
    }
    StoreScores<NH, K>(a, scale, s[p]);
  }
  return p;
}

template <int NH, class Format>
HWY_INLINE void Scores(const float* q, int dim, const Format& f, const Rows& rows, int64_t p0,
                       int64_t n, float scale, BlockScores& s, bool prefetch_values) {
  int64_t p = ScoreKeys<NH, kPair>(q, dim, f, rows, p0, 0, n, scale, s, prefetch_values);
  if constexpr (kPair > 1) ScoreKeys<NH, 1>(q, dim, f, rows, p0, p, n, scale, s, prefetch_values);
}

// Online softmax step of NH heads over one block: s[p][h] becomes e^{s − m_new}; l and each
// head's output acc[h][dim] are rescaled if its max grew. Vectors run across the heads; with
// 16 lanes (AVX-512) one vector holds two rows' 8 heads, so the exponentials run at full width.
template <int NH>
HWY_INLINE void SoftmaxStep(BlockScores& s, int64_t n, int dim, float* m, float* l, float* acc) {
  HWY_ALIGN float bm[2 * kHeadTile], sum[2 * kHeadTile];
  constexpr bool kTwoRows = hn::MaxLanes(DF()) == 2 * kHeadTile;
  const hn::CappedTag<float, kTwoRows ? 2 * kHeadTile : kHeadTile> dh;
  const int LH = static_cast<int>(hn::Lanes(dh));
  const int64_t rows = kTwoRows ? (n + 1) / 2 * 2 : n;  // rows the vectors cover
  if (kTwoRows && rows > n) std::fill(s[n], s[n] + kHeadTile, -1e30f);  // e^{-1e30 − m} = 0
  const int64_t step = kTwoRows ? 2 : 1;
  for (int h0 = 0; h0 < (kTwoRows ? kHeadTile : NH); h0 += LH) {
    auto vm = hn::LoadU(dh, s[0] + h0);
    for (int64_t p = step; p < rows; p += step) vm = hn::Max(vm, hn::LoadU(dh, s[p] + h0));
    hn::StoreU(vm, dh, bm + h0);
  }
  for (int h = 0; h < NH; ++h) {
    if (kTwoRows) bm[h] = std::max(bm[h], bm[kHeadTile + h]);
    if (bm[h] > m[h]) {
      if (m[h] != -INFINITY) {  // before the first block acc and l are still zero
        const float f = std::exp(m[h] - bm[h]);
        l[h] *= f;
        const DF d;
        const VF vf = hn::Set(d, f);
        float* ah = acc + h * dim;
        for (int i = 0; i < dim; i += static_cast<int>(hn::Lanes(d)))
          hn::StoreU(hn::Mul(hn::LoadU(d, ah + i), vf), d, ah + i);
      }
      m[h] = bm[h];
    }
    bm[h] = m[h];
    if (kTwoRows) bm[kHeadTile + h] = m[h];
  }
  for (int h0 = 0; h0 < (kTwoRows ? kHeadTile : NH); h0 += LH) {
    const auto vm = hn::LoadU(dh, bm + h0);
    auto vs = hn::Zero(dh);
    for (int64_t p = 0; p < rows; p += step) {
      const auto e = hn::Exp(dh, hn::Sub(hn::LoadU(dh, s[p] + h0), vm));
      hn::StoreU(e, dh, s[p] + h0);
      vs = hn::Add(vs, e);
    }
    hn::StoreU(vs, dh, sum + h0);
  }
  for (int h = 0; h < NH; ++h) l[h] += kTwoRows ? sum[h] + sum[kHeadTile + h] : sum[h];
}

// The weights of one group of columns for value rows p < n: ws[p][h] = w[p][h] · s_{p,g} and
// bias[h] = Σ_p w[p][h] β_{p,g}, so that Σ_p w_p (s_p q_p + β_p) = Σ_p ws_p q_p + bias — the
// codes of a value row are only converted, the affine map is paid per row and group, not per
// element. Float rows: ws = w, no bias.
template <int NH, class Format>
HWY_INLINE const BlockScores& GroupWeights(const BlockScores& w, const Format& f,
                                           const Rows& rows, int64_t p0, int64_t n, int c,
                                           BlockScores& ws, float* bias) {
  if constexpr (!Format::kAffine) {
    return w;
  } else {
    const hn::CappedTag<float, kHeadTile> dh;
    const int LH = static_cast<int>(hn::Lanes(dh));
    const int g = c >> f.group_shift;
    for (int h0 = 0; h0 < NH; h0 += LH) {
      auto vb = hn::Zero(dh);
      for (int64_t p = 0; p < n; ++p) {
        const uint8_t* v = rows.value(p0 + p);
        const auto wv = hn::LoadU(dh, w[p] + h0);
        hn::StoreU(hn::Mul(wv, hn::Set(dh, f.Scale(v, g))), dh, ws[p] + h0);
        vb = hn::MulAdd(wv, hn::Set(dh, f.Bias(v, g)), vb);
      }
      hn::StoreU(vb, dh, bias + h0);
    }
    return ws;
  }
}

// acc_h[c, c + W·L) += Σ_{p<n} ws[p][h] · codes_{p0+p} (+ bias[h] for quantized rows) for NH
// heads: each value vector is widened once for all NH heads, and the W·NH sums stay in
// registers. Meanwhile bytes [from, to) of the next block's key rows (next_n of them from
// p0 + n) are requested, spread between the loads: a burst of prefetches stalls.
template <int NH, int W, class Format>
HWY_INLINE void AccumulateColumns(const BlockScores& ws, const float* bias, const Format& f,
                                  const Rows& rows, int64_t p0, int64_t n, int c, int dim,
                                  float* acc, int64_t next_n, size_t from, size_t to) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  VF a[NH][W];
  HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
    HWY_UNROLL(2) for (int j = 0; j < W; ++j) {
      a[h][j] = hn::LoadU(d, acc + h * dim + c + j * L);
      if constexpr (Format::kAffine) a[h][j] = hn::Add(a[h][j], hn::Set(d, bias[h]));
    }
  }
  for (int64_t p = 0; p < n; ++p) {
    if (p < next_n) PrefetchBytes(rows.key(p0 + n + p), from, to);
    const uint8_t* v = rows.value(p0 + p);
    VF x[W];
    HWY_UNROLL(2) for (int j = 0; j < W; ++j) x[j] = f.Codes(d, v, c + j * L);
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
      const VF wv = hn::Set(d, ws[p][h]);
      HWY_UNROLL(2) for (int j = 0; j < W; ++j) a[h][j] = hn::MulAdd(wv, x[j], a[h][j]);
    }
  }
  HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
    HWY_UNROLL(2) for (int j = 0; j < W; ++j) hn::StoreU(a[h][j], d, acc + h * dim + c + j * L);
}

// acc_h[dim] += Σ_{p<n} w[p][h] · v_{p0+p} for NH heads, kPair vectors of columns at a time.
// Meanwhile the key rows of the next block (next_n rows from p0 + n; 0: none) are requested, a
// slice of each row per column step (the last step takes the rest: a quantized row's scales
// follow its codes).
template <int NH, class Format>
HWY_INLINE void Accumulate(const BlockScores& w, const Format& f, const Rows& rows, int64_t p0,
                           int64_t n, int dim, float* acc, int64_t next_n) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  const int G = f.GroupSize(dim);
  const size_t rb = rows.row_bytes;
  HWY_ALIGN BlockScores ws_storage;
  HWY_ALIGN float bias[kHeadTile] = {};
  const BlockScores* ws = &w;
  for (int c = 0; c < dim; c += kPair * L) {
    if (c % G == 0) ws = &GroupWeights<NH>(w, f, rows, p0, n, c, ws_storage, bias);
    const size_t from = rb * c / dim;
    const size_t to = c + kPair * L >= dim ? rb : rb * (c + kPair * L) / dim;
    if (c + kPair * L <= dim) {
      AccumulateColumns<NH, kPair>(*ws, bias, f, rows, p0, n, c, dim, acc, next_n, from, to);
    } else {  // one vector left (dim is an odd number of vectors)
      AccumulateColumns<NH, 1>(*ws, bias, f, rows, p0, n, c, dim, acc, next_n, from, to);
    }
  }
}

// Targets with Int8 key scores: AVX-512 VNNI and AVX2 (both with int16 value weights) and NEON
// with dot products (values in float). Each still checks the CPU at run time (AttendHaveInt8).
#undef TF_ATTN_INT8
#if HWY_TARGET == HWY_AVX3_DL || (HWY_TARGET == HWY_NEON && HWY_ARCH_ARM_A64) || HWY_TARGET == HWY_AVX2
#define TF_ATTN_INT8 1
#include "kernels/ops_attention_int8-inl.h"
#if HWY_TARGET == HWY_AVX3_DL
#include "kernels/ops_attention_vnni-inl.h"
#elif HWY_TARGET == HWY_AVX2
#include "kernels/ops_attention_avx2-inl.h"
#else
#include "kernels/ops_attention_neon-inl.h"
#endif

// Int8 scores of a block's rows: 4 at a time (R·2 sums in flight hide the dot products'
// latency), then single rows (ScoreRowsInt8 of the target's header). Not inlined into Block: a
// caller without the target's Int8 attribute (TF_ATTN_INT8_ATTR) cannot inline it.
template <int kBits>
TF_ATTN_INT8_ATTR HWY_NOINLINE void ScoresInt8(const Int8Tile& t, const QuantRow<kBits>& f,
                                               const Rows& rows, int64_t p0, int64_t n, int dim,
                                               float scale, BlockScores& s, bool prefetch_values) {
  int64_t p = 0;
  for (; p + 4 <= n; p += 4) ScoreRowsInt8<kBits, 4>(t, f, rows, p0, p, dim, scale, s, prefetch_values);
  for (; p < n; ++p) ScoreRowsInt8<kBits, 1>(t, f, rows, p0, p, dim, scale, s, prefetch_values);
}
#else
#define TF_ATTN_INT8 0
#endif

// One block of rows for one tile of NH heads (tile number `tile` of the call): scores, online
// softmax step, weighted values. prefetch_n > 0: also request this block's values and the next
// block's keys (prefetch_n rows).
template <int NH, class Format>
HWY_INLINE void Block(const float* q, const Format& f, const Rows& rows, int64_t p0, int64_t n,
                      int dim, float scale, float* acc, float* m, float* l, int64_t prefetch_n,
                      int tile) {
  HWY_ALIGN BlockScores s;
  // The lanes of heads past NH are computed with and never used: keep them finite.
  if constexpr (NH != kHeadTile) std::fill(&s[0][0], &s[0][0] + kBlock * kHeadTile, 0.0f);
#if TF_ATTN_INT8
  if constexpr (std::is_same_v<Format, QuantRowInt8<8>> || std::is_same_v<Format, QuantRowInt8<4>> ||
                std::is_same_v<Format, QuantRowInt8<2>>) {
    ScoresInt8(f.tiles[tile], f, rows, p0, n, dim, scale, s, prefetch_n > 0);
    SoftmaxStep<NH>(s, n, dim, m, l, acc);
#if HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2
    AccumulateInt16<NH>(s, f, rows, p0, n, dim, acc, prefetch_n);
#else
    Accumulate<NH>(s, f, rows, p0, n, dim, acc, prefetch_n);
#endif
    return;
  }
#else
  (void)tile;
#endif
  Scores<NH>(q, dim, f, rows, p0, n, scale, s, prefetch_n > 0);
  SoftmaxStep<NH>(s, n, dim, m, l, acc);
  Accumulate<NH>(s, f, rows, p0, n, dim, acc, prefetch_n);
}

template <class Format>
void PartialT(const float* q, int heads, const Format& f, const Rows& rows, int64_t begin,
              int64_t end, int dim, float scale, float* acc, float* m, float* l) {
  std::fill(acc, acc + static_cast<int64_t>(heads) * dim, 0.0f);
  std::fill(m, m + heads, -INFINITY);
  std::fill(l, l + heads, 0.0f);
  for (int64_t p0 = begin; p0 < end; p0 += kBlock) {
    const int64_t n = std::min(kBlock, end - p0);
    const int64_t next_n = std::min(kBlock, end - p0 - n);
    for (int h0 = 0; h0 < heads; h0 += kHeadTile) {
      const float* qh = q + static_cast<int64_t>(h0) * dim;
      float* ah = acc + static_cast<int64_t>(h0) * dim;
      // The first head tile of a block prefetches for all of them.
      const int64_t pf = h0 == 0 ? next_n : 0;
      float *mh = m + h0, *lh = l + h0;
      const int tile = h0 / kHeadTile;
      switch (std::min(kHeadTile, heads - h0)) {
        case 8: Block<8>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        case 7: Block<7>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        case 6: Block<6>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        case 5: Block<5>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        case 4: Block<4>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        case 3: Block<3>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        case 2: Block<2>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
        default: Block<1>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf, tile); break;
      }
    }
  }
}

int Log2(int x) {
  int k = 0;
  while ((1 << k) < x) ++k;
  return k;
}

// Whether this target runs the Int8 key scores on this CPU (ops_attention_vnni-inl.h,
// ops_attention_neon-inl.h).
bool AttendHaveInt8() {
#if HWY_TARGET == HWY_AVX3_DL
  return tf::simd::x86_features().avx512vnni;
#elif HWY_TARGET == HWY_AVX2
  return true;  // the target runs only where AVX2 does
#elif TF_ATTN_INT8
  return q8_dot128_supported(Q8Dot128::DotProd);
#else
  return false;
#endif
}

// The quantized format of these rows on this target, or false where the kernel cannot run them.
template <int kBits>
bool QuantFormat(const KVRows& kv, QuantRow<kBits>* f) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  const int plane = kv.group_size * kBits / 8;
  // A vector never straddles planes, a column step of Accumulate never straddles groups.
  if (!kv_quant_row_valid(kBits, kv.stride, kv.group_size) || plane % L != 0 ||
      kv.group_size % (kPair * L) != 0)
    return false;
  *f = QuantRow<kBits>{Log2(kv.group_size), Log2(plane),
                       static_cast<int>(kv.stride / kv.group_size),
                       static_cast<size_t>(kv.stride) * kBits / 8};
  return true;
}

// attend_group_int8_keys on this target (given that the float kernel can run the rows).
// Key widths this target scores with Int8 dots: every quantized one.
constexpr bool Int8KeyBits(int bits) { return bits != 0; }

bool Int8KeysFor(int heads, const KVRows& kv, int dim) {
  return AttendHaveInt8() && Int8KeyBits(kv_quant_bits(kv.type)) && dim <= 256 &&
         dim % kv.group_size == 0 && heads <= 8 * 16;
}

template <int kBits>
bool QuantPartial(const float* q, int heads, const KVRows& kv, const Rows& rows, int64_t begin,
                  int64_t end, int dim, float scale, float* acc, float* m, float* l) {
  QuantRow<kBits> f;
  if (!QuantFormat(kv, &f)) return false;
#if TF_ATTN_INT8
  if constexpr (Int8KeyBits(kBits)) {
    if (Int8KeysFor(heads, kv, dim)) {
      Int8Tile tiles[kInt8MaxTiles];
      for (int h0 = 0; h0 < heads; h0 += kHeadTile)
        PrepareInt8Tile(q + static_cast<int64_t>(h0) * dim, std::min(kHeadTile, heads - h0), dim,
                        kv.group_size, tiles[h0 / kHeadTile]);
      QuantRowInt8<kBits> fi;
      static_cast<QuantRow<kBits>&>(fi) = f;
      fi.tiles = tiles;
      PartialT(q, heads, fi, rows, begin, end, dim, scale, acc, m, l);
      return true;
    }
  }
#endif
  PartialT(q, heads, f, rows, begin, end, dim, scale, acc, m, l);
  return true;
}

// Whether AttendGroupPartial of this target runs these rows (else it returns false).
bool Runs(const KVRows& kv, int dim) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  if (dim % L != 0 || kBlock % L != 0) return false;
  switch (kv.type) {
    case KVType::Q8: { QuantRow<8> f; return QuantFormat(kv, &f); }
    case KVType::Q4: { QuantRow<4> f; return QuantFormat(kv, &f); }
    case KVType::Q2: { QuantRow<2> f; return QuantFormat(kv, &f); }
    default: return true;
  }
}

// attend_group_int8_keys on this target: quantized rows it runs, then Int8KeysFor.
bool Int8Keys(int heads, const KVRows& kv, int dim) {
  return kv_quant_bits(kv.type) != 0 && Runs(kv, dim) && Int8KeysFor(heads, kv, dim);
}

// attend_group_int16_values: the Int8 path of the x86 targets (values with int16 weights).
bool Int16Values(int heads, const KVRows& kv, int dim) {
  return (HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2) && Int8Keys(heads, kv, dim);
}

bool AttendGroupPartial(const float* q, int heads, const KVRows& kv, int64_t begin, int64_t end,
                        int dim, float scale, float* acc, float* m, float* l) {
  if (!Runs(kv, dim)) return false;
  const Rows rows{static_cast<const uint8_t*>(kv.keys), static_cast<const uint8_t*>(kv.values),
                  kv.row_bytes()};
  switch (kv.type) {
    case KVType::F32:
      PartialT(q, heads, FloatRow<float>(), rows, begin, end, dim, scale, acc, m, l);
      return true;
    case KVType::F16:
      PartialT(q, heads, FloatRow<hwy::float16_t>(), rows, begin, end, dim, scale, acc, m, l);
      return true;
    case KVType::BF16:
      PartialT(q, heads, FloatRow<hwy::bfloat16_t>(), rows, begin, end, dim, scale, acc, m, l);
      return true;
    case KVType::Q8:
      return QuantPartial<8>(q, heads, kv, rows, begin, end, dim, scale, acc, m, l);
    case KVType::Q4:
      return QuantPartial<4>(q, heads, kv, rows, begin, end, dim, scale, acc, m, l);
    case KVType::Q2:
      return QuantPartial<2>(q, heads, kv, rows, begin, end, dim, scale, acc, m, l);
  }
  return false;
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf {

namespace simd {
HWY_EXPORT(AttendGroupPartial);
HWY_EXPORT(Int8Keys);
HWY_EXPORT(Int16Values);
HWY_EXPORT(Runs);
// On an AVX-512 CPU, a row layout too fine for 16-lane vectors (2-bit codes in groups of 32:
// 8-byte planes) still fits AVX2's 8 lanes: better than the scalar reference. The answers of the
// functions below are those of the target that runs the rows.
#if HWY_ARCH_X86 && (HWY_TARGETS & HWY_AVX2)
bool RunsOnAvx2Instead(const KVRows& kv, int dim) {
  return !HWY_DYNAMIC_DISPATCH(Runs)(kv, dim) && (hwy::SupportedTargets() & HWY_AVX2) != 0 &&
         N_AVX2::Runs(kv, dim);
}
#endif
// Dispatched from inside tf::simd: where only one target is compiled (NEON without SVE),
// HWY_DYNAMIC_DISPATCH becomes a static call to N_<TARGET>::AttendGroupPartial in this namespace.
bool DispatchAttendGroupPartial(const float* q, int heads, const KVRows& kv, int64_t begin,
                                int64_t end, int dim, float scale, float* acc, float* max,
                                float* sum) {
#if HWY_ARCH_X86 && (HWY_TARGETS & HWY_AVX2)
  if (RunsOnAvx2Instead(kv, dim))
    return N_AVX2::AttendGroupPartial(q, heads, kv, begin, end, dim, scale, acc, max, sum);
#endif
  return HWY_DYNAMIC_DISPATCH(AttendGroupPartial)(q, heads, kv, begin, end, dim, scale, acc, max, sum);
}
bool DispatchInt8Keys(int heads, const KVRows& kv, int dim) {
#if HWY_ARCH_X86 && (HWY_TARGETS & HWY_AVX2)
  if (RunsOnAvx2Instead(kv, dim)) return N_AVX2::Int8Keys(heads, kv, dim);
#endif
  return HWY_DYNAMIC_DISPATCH(Int8Keys)(heads, kv, dim);
}
bool DispatchInt16Values(int heads, const KVRows& kv, int dim) {
#if HWY_ARCH_X86 && (HWY_TARGETS & HWY_AVX2)
  if (RunsOnAvx2Instead(kv, dim)) return N_AVX2::Int16Values(heads, kv, dim);
#endif
  return HWY_DYNAMIC_DISPATCH(Int16Values)(heads, kv, dim);
}
}  // namespace simd

bool attend_group_int8_keys(int heads, const KVRows& kv, int dim) {
  return simd::DispatchInt8Keys(heads, kv, dim);
}

bool attend_group_int16_values(int heads, const KVRows& kv, int dim) {
  return simd::DispatchInt16Values(heads, kv, dim);
}

namespace {
// The reference over [begin, end) in partial form: softmax weights relative to the range's max.
void partial_reference(const float* q, int heads, const KVRows& kv, int64_t begin, int64_t end,
                       int dim, float scale, float* acc, float* m, float* l) {
  // Whole rows of `stride` elements are widened (a quantized row's scales follow all its codes).
  auto row = [&](const void* base, int64_t p, float* out) {
    const size_t offset = static_cast<size_t>(p) * kv.row_bytes();
    load_kv_row(kv.type, static_cast<const uint8_t*>(base) + offset, kv.stride, out,
                kv.group_size);
  };
  std::vector<float> k(static_cast<size_t>(kv.stride)), v(k.size()),
      s(static_cast<size_t>(end - begin));
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * dim;
    float* ah = acc + static_cast<int64_t>(h) * dim;
    std::fill(ah, ah + dim, 0.0f);
    m[h] = -INFINITY;
    l[h] = 0.0f;
    for (int64_t p = begin; p < end; ++p) {
      row(kv.keys, p, k.data());
      float d = 0.0f;
      for (int i = 0; i < dim; ++i) d += qh[i] * k[i];
      s[p - begin] = scale * d;
      m[h] = std::max(m[h], s[p - begin]);
    }
    for (int64_t p = begin; p < end; ++p) {
      const float w = std::exp(s[p - begin] - m[h]);
      l[h] += w;
      row(kv.values, p, v.data());
      for (int i = 0; i < dim; ++i) ah[i] += w * v[i];
    }
  }
}
}  // namespace

void attend_group_partial(const float* q, int heads, const KVRows& kv, int64_t begin,
                          int64_t end, int dim, float scale, float* acc, float* max, float* sum) {
  if (simd::DispatchAttendGroupPartial(q, heads, kv, begin, end, dim, scale, acc, max, sum))
    return;
  partial_reference(q, heads, kv, begin, end, dim, scale, acc, max, sum);
}

void attend_group(const float* q, int heads, const KVRows& kv, int64_t count, int dim,
                  float scale, float* out) {
  // One partial over everything, normalised by each head's sum (no heap for the usual sizes:
  // prefill calls this once per token and kv head).
  constexpr int kStackHeads = 64;
  float stack[2 * kStackHeads];
  std::vector<float> heap;
  float* m = stack;
  if (heads > kStackHeads) {
    heap.resize(2 * static_cast<size_t>(heads));
    m = heap.data();
  }
  float* l = m + heads;
  attend_group_partial(q, heads, kv, 0, count, dim, scale, out, m, l);
  for (int h = 0; h < heads; ++h) {
    const float inv = 1.0f / l[h];
    float* o = out + static_cast<int64_t>(h) * dim;
    for (int i = 0; i < dim; ++i) o[i] *= inv;
  }
}

}  // namespace tf
#endif  // HWY_ONCE
