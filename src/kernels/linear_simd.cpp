// SIMD kernels for y = W x with float activations, compiled once per Highway target and picked
// at run time (no -march flags). Quantized rows follow spec §5.2:
//   y_n = Σ_g s_{n,g} · Σ_{k∈g} q_{n,k} x_k  +  Σ_g β_{n,g} · Σ_{k∈g} x_k,
// with Σ_{k∈g} x_k computed once per call (linear.cpp) and the codes never turned into ŵ.
//
// Code layout (spec §5.3: one LSB-first bitstream per row). A block is one vector of N u32
// lanes; lane i holds U consecutive codes ("a unit": U·b bits), and plane m of the block is
// code m of every lane: (lane >> b·m) & (2^b − 1). Units by bit width:
//   b = 2, 4, 8: U = 16, 8, 4 — a unit is exactly one packed u32, so a block is one LoadU;
//   b = 3, 6:    U = 8, 4 — 24-bit units: a lane permute and a byte shuffle spread every 3
//                bytes into a lane;
//   b = 5:       U = 4 — 20-bit units: the same, then a per-lane shift of 0 or 4 bits.
// (Dense rows are in linear_dense.cpp.) The activations are permuted once per call into the same order (permute_input), so each
// plane meets its x values in one contiguous load. A block reads 4N bytes; where that would pass
// the end of a row (3/5/6-bit tails, or K not a multiple of the block) the row's tail is copied
// into a zero-padded buffer first, so no load ever leaves the weight tensor.
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/linear_internal.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/linear_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DU = hn::RebindToUnsigned<DF>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
using VU = hn::Vec<DU>;
constexpr size_t kMaxLanes = hn::MaxLanes(DF());

template <size_t... Is, class F>
HWY_INLINE void UnrollImpl(std::index_sequence<Is...>, F&& f) {
  (f(std::integral_constant<int, static_cast<int>(Is)>{}), ...);
}
// Calls f(integral_constant<int, m>) for m = 0..kCount-1 (compile-time plane numbers).
template <int kCount, class F>
HWY_INLINE void Unroll(F&& f) {
  UnrollImpl(std::make_index_sequence<kCount>{}, f);
}

// ---- block layout --------------------------------------------------------------------------
template <int kBits>
struct Unit {
  static constexpr int kCodes = kBits == 2 ? 16 : (kBits == 3 || kBits == 4) ? 8 : 4;
  static constexpr int kLaneBits = kCodes * kBits;  // 32, 24 or 20
};

// Lane-permute and byte-shuffle tables that move every unit of a block into its own u32 lane
// (24- and 20-bit units); the lane shifts finish 20-bit units that start mid-byte.
struct SpreadTables {
  alignas(64) int32_t lanes[kMaxLanes];
  alignas(64) uint8_t bytes[kMaxLanes * 4];
  alignas(64) uint32_t shifts[kMaxLanes];
};

HWY_INLINE void MakeSpreadTables(int lane_bits, SpreadTables& t) {
  const size_t n = hn::Lanes(DU());
  for (size_t i = 0; i < n; ++i) {
    const size_t block = i / 4;                               // 128-bit block of lane i
    const size_t first_byte = (block * 4 * lane_bits) / 8;    // first unit of that block
    const size_t window = first_byte / 4;                     // its dword window start
    t.lanes[i] = static_cast<int32_t>(window + i % 4);
    const size_t byte = (i * lane_bits) / 8 - window * 4;     // unit i, within the window
    for (size_t b = 0; b < 4; ++b) t.bytes[4 * i + b] = static_cast<uint8_t>(16 * block + byte + b);
    t.shifts[i] = static_cast<uint32_t>((i * lane_bits) % 8);
  }
  // TableLookupBytes indexes within each 128-bit block: keep only the in-block offset.
  for (size_t i = 0; i < 4 * n; ++i) t.bytes[i] = static_cast<uint8_t>(t.bytes[i] % 16);
}

template <int kBits>
HWY_INLINE VU LoadBlock(const uint8_t* p, const SpreadTables& t) {
  const DU du;
  const VU raw = hn::LoadU(du, reinterpret_cast<const uint32_t*>(p));
#if HWY_TARGET == HWY_SCALAR
  (void)t;
  return raw;  // one lane: the block is one unit, already at byte 0
#else
  if constexpr (Unit<kBits>::kLaneBits == 32) {
    return raw;
  } else {
    const VU dwords = hn::TableLookupLanes(raw, hn::SetTableIndices(du, t.lanes));
    const hn::Repartition<uint8_t, DU> d8;
    const VU spread = hn::BitCast(
        du, hn::TableLookupBytes(hn::BitCast(d8, dwords), hn::LoadU(d8, t.bytes)));
    if constexpr (Unit<kBits>::kLaneBits == 20) return hn::Shr(spread, hn::LoadU(du, t.shifts));
    return spread;
  }
#endif
}

// x86 vpermps ignores all but the low log2(lanes) index bits, so a 16- (AVX-512) or 8-entry
// (AVX2) table of (j & mask) turns a shifted unit straight into its code as float: one permute
// instead of and + convert, for the widths whose codes fit the index.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX2
template <int kBits>
constexpr bool kLutPlanes = (1u << kBits) <= kMaxLanes;
#else
template <int kBits>
constexpr bool kLutPlanes = false;
#endif

HWY_INLINE VF CodeTable(int bits) {
  const DF df;
  alignas(64) float t[kMaxLanes];
  for (size_t j = 0; j < kMaxLanes; ++j) t[j] = static_cast<float>(j & ((1u << bits) - 1u));
  return hn::Load(df, t);
}

template <int kBits, int kPlane>
HWY_INLINE VF Plane(VU v, VF table) {
  const DU du;
  const DI di;
  constexpr int kShift = kBits * kPlane;
  VU c = hn::ShiftRight<kShift>(v);
  if constexpr (kLutPlanes<kBits>) {
    return hn::TableLookupLanes(table, hn::IndicesFromVec(DF(), hn::BitCast(di, c)));
  } else {
    (void)table;
    if constexpr (kShift + kBits < 32) c = hn::And(c, hn::Set(du, (1u << kBits) - 1u));
    return hn::ConvertTo(DF(), hn::BitCast(di, c));
  }
}

// ---- per-row scales --------------------------------------------------------------------------
// Converts `count` scale-dtype values to float (dst has room for count + Lanes more, zeroed).
HWY_INLINE void LoadRowFloats(const uint8_t* src, DType dt, int64_t count, float* dst) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  if (dt == DType::BF16) {
    const hn::Rebind<hwy::bfloat16_t, DF> dbf;
    const auto* p = reinterpret_cast<const hwy::bfloat16_t*>(src);
    for (; i + n <= count; i += n) hn::StoreU(hn::PromoteTo(df, hn::LoadU(dbf, p + i)), df, dst + i);
  } else if (dt == DType::F16) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    const auto* p = reinterpret_cast<const hwy::float16_t*>(src);
    for (; i + n <= count; i += n) hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, p + i)), df, dst + i);
  }
  for (; i < count; ++i) dst[i] = load_float(src, dt, static_cast<size_t>(i));
}

// Scale of every lane of block `blk`: one group spans the block, or the block spans several
// groups (lanes_per_group = g / U lanes each; `lanes` maps lane → group within the block).
struct ScaleLanes {
  bool spans_groups;
  int64_t groups_per_block;  // when spans_groups
  int64_t blocks_per_group;  // otherwise
  alignas(64) int32_t lanes[kMaxLanes];
};

HWY_INLINE VF BlockScales(const ScaleLanes& sl, const float* srow, int64_t blk) {
  const DF df;
  if (!sl.spans_groups) return hn::Set(df, srow[blk / sl.blocks_per_group]);
  const VF s = hn::LoadU(df, srow + blk * sl.groups_per_block);
  return hn::TableLookupLanes(s, hn::SetTableIndices(df, sl.lanes));
}

// ---- quantized rows ------------------------------------------------------------------------
// Tokens per pass over a row: as many as the registers hold (acc + partial sum per token).
constexpr int kMaxTokenTile = kMaxLanes >= 16 ? 8 : 4;
// Tokens are processed in tiles (the largest of 8/4/2/1 that fits); a tile's permuted input
// interleaves its tokens per plane so one base pointer reaches all of them. A tile's input
// must stay in L1 while a row passes over it (every plane loads one vector per token), so long
// rows get smaller tiles: 8 tokens × 2048 floats would be 64 KiB and run at L2 speed.
constexpr int64_t kTileInputBytes = 32 * 1024;
HWY_INLINE int TokenTile(int64_t left, int64_t padded_cols) {
  int most = kMaxTokenTile;
  while (most > 1 && most * padded_cols * 4 > kTileInputBytes) most /= 2;
  for (int tt = most; tt > 1; tt /= 2)
    if (left >= tt) return tt;
  return 1;
}

struct AffineRowArgs {
  int64_t blocks;       // per row (padded)
  int64_t fast_blocks;  // blocks whose 4N-byte load stays inside the row
  size_t block_bytes;
  size_t row_bytes;
  int64_t padded_cols;  // per token stride of xp
};

// Loads block `blk` of a row, through a zero-padded copy when the load would pass the row end.
template <int kBits>
HWY_INLINE VU RowBlock(const uint8_t* row, int64_t blk, const AffineRowArgs& a,
                       const SpreadTables& t) {
#if HWY_TARGET == HWY_SCALAR
  if constexpr (Unit<kBits>::kLaneBits % 8 != 0) {  // one 20-bit unit: not byte aligned
    const size_t bit = static_cast<size_t>(blk) * Unit<kBits>::kLaneBits;
    uint32_t unit = 0;
    std::memcpy(&unit, row + bit / 8, std::min<size_t>(4, a.row_bytes - bit / 8));
    return hn::Set(DU(), unit >> (bit % 8));
  }
#endif
  const uint8_t* p = row + blk * a.block_bytes;
  if (HWY_LIKELY(blk < a.fast_blocks)) return LoadBlock<kBits>(p, t);
  alignas(64) uint8_t tail[kMaxLanes * 4] = {};
  const size_t off = blk * a.block_bytes;
  std::memcpy(tail, p, std::min(sizeof(tail), a.row_bytes - off));
  return LoadBlock<kBits>(tail, t);
}

// One row against kTT tokens: acc[t] = Σ_blocks scale_lanes · Σ_planes code · x.
// For a single token the planes are spread over 4 partial sums (latency); for several tokens
// each token's chain is independent already.
template <int kBits, int kTT>
HWY_INLINE void AffineRowTokens(const uint8_t* row, const float* xp, const float* srow,
                                const AffineRowArgs& a, const SpreadTables& t,
                                const ScaleLanes& sl, const VF table, const float* brow,
                                const float* gs, int64_t groups, float* out) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  constexpr int kU = Unit<kBits>::kCodes;
  const int64_t block_codes = n * kU;
  VF acc[kTT];
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) acc[i] = hn::Zero(df);
  for (int64_t blk = 0; blk < a.blocks; ++blk) {
    const VU v = RowBlock<kBits>(row, blk, a, t);
    const float* xb = xp + blk * block_codes * kTT;  // the tile's tokens interleave per plane
    const VF scale = BlockScales(sl, srow, blk);
    if constexpr (kTT == 1) {
      VF p[4] = {hn::Zero(df), hn::Zero(df), hn::Zero(df), hn::Zero(df)};
      Unroll<kU>([&](auto m) {
        p[m % 4] = hn::MulAdd(Plane<kBits, m>(v, table), hn::LoadU(df, xb + m * n), p[m % 4]);
      });
      acc[0] = hn::MulAdd(scale, hn::Add(hn::Add(p[0], p[1]), hn::Add(p[2], p[3])), acc[0]);
    } else {
      VF p[kTT];
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i) p[i] = hn::Zero(df);
      Unroll<kU>([&](auto m) {
        const VF c = Plane<kBits, m>(v, table);
        #pragma GCC unroll 8
        for (int i = 0; i < kTT; ++i)
          p[i] = hn::MulAdd(c, hn::LoadU(df, xb + (m * kTT + i) * n), p[i]);
      });
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i) acc[i] = hn::MulAdd(scale, p[i], acc[i]);
    }
  }
  // + Σ_g β_g·Σx_g, read in whole vectors: brow is zero past the last group and gs has padding.
  for (int64_t g = 0; g < groups; g += n) {
    const VF b = hn::LoadU(df, brow + g);
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) acc[i] = hn::MulAdd(b, hn::LoadU(df, gs + i * groups + g), acc[i]);
  }
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) out[i] = hn::GetLane(hn::SumOfLanes(df, acc[i]));
}


// Tokens per pass over a row: as many as the registers hold (acc + partial sum per token).
// Per-row scale buffers up to this size live on the stack (K up to ~16K at g = 32).
constexpr int64_t kStackFloats = 1024;
// Rows per cache tile in matmul: their codes stay in L2 while every token tile passes over.
constexpr size_t kRowTileBytes = 128 * 1024;

template <int kBits>
void AffineRowsT(const WeightMatrix& w, const float* xp, int64_t padded_cols,
                 const float* group_sums, int64_t tokens, int64_t row_begin, int64_t row_end,
                 float* y, int64_t y_stride) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  constexpr int kU = Unit<kBits>::kCodes;
  const int64_t block_codes = n * kU;
  const int64_t groups = w.groups_per_row();
  const int g = w.group_size;

  AffineRowArgs a;
  a.blocks = padded_cols / block_codes;
  a.block_bytes = static_cast<size_t>(n) * Unit<kBits>::kLaneBits / 8;
  a.row_bytes = w.row_bytes();
  a.fast_blocks = a.row_bytes >= static_cast<size_t>(4 * n)
                      ? std::min<int64_t>(a.blocks, (a.row_bytes - 4 * n) / a.block_bytes + 1)
                      : 0;
  a.padded_cols = padded_cols;

  SpreadTables tables;
  MakeSpreadTables(Unit<kBits>::kLaneBits, tables);
  const VF table = CodeTable(kBits);
  ScaleLanes sl;
  sl.spans_groups = block_codes > g;
  sl.groups_per_block = sl.spans_groups ? block_codes / g : 0;
  sl.blocks_per_group = sl.spans_groups ? 0 : g / block_codes;
  for (int64_t i = 0; i < n; ++i) sl.lanes[i] = static_cast<int32_t>(i * kU / g);

  const size_t stype = dtype_size(w.dtype);
  const size_t srow_bytes = static_cast<size_t>(groups) * stype;
  // Scales padded so a whole vector can be loaded past the last group of a partial block.
  const int64_t pad = groups + 2 * n + a.blocks;
  alignas(64) float stack[2 * kStackFloats];
  std::vector<float> heap;
  float* srow = stack;
  if (2 * pad > 2 * kStackFloats) {
    heap.resize(static_cast<size_t>(2 * pad));
    srow = heap.data();
  }
  float* brow = srow + pad;
  std::fill(srow, srow + 2 * pad, 0.0f);

  const int64_t tile_rows =
      std::max<int64_t>(1, static_cast<int64_t>(kRowTileBytes / std::max<size_t>(1, a.row_bytes)));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(row_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < tokens;) {
      const int64_t left = tokens - t0;
      const int tt = TokenTile(left, padded_cols);
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * a.row_bytes;
        LoadRowFloats(w.scales + r * srow_bytes, w.dtype, groups, srow);
        LoadRowFloats(w.biases + r * srow_bytes, w.dtype, groups, brow);
        const float* xt = xp + t0 * padded_cols;
        const float* gs = group_sums + t0 * groups;
        float dots[kMaxTokenTile];
        switch (tt) {
          case 8:
            if constexpr (kMaxTokenTile >= 8)
              AffineRowTokens<kBits, kMaxTokenTile>(row, xt, srow, a, tables, sl, table, brow, gs, groups, dots);
            break;
          case 4: AffineRowTokens<kBits, 4>(row, xt, srow, a, tables, sl, table, brow, gs, groups, dots); break;
          case 2: AffineRowTokens<kBits, 2>(row, xt, srow, a, tables, sl, table, brow, gs, groups, dots); break;
          default: AffineRowTokens<kBits, 1>(row, xt, srow, a, tables, sl, table, brow, gs, groups, dots); break;
        }
        for (int i = 0; i < tt; ++i) y[(t0 + i) * y_stride + r] = dots[i];
      }
      t0 += tt;
    }
  }
}

void AffineRows(const WeightMatrix& w, const float* xp, int64_t padded_cols,
                const float* group_sums, int64_t tokens, int64_t row_begin, int64_t row_end,
                float* y, int64_t y_stride) {
  switch (w.bits) {
    case 2: return AffineRowsT<2>(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y, y_stride);
    case 3: return AffineRowsT<3>(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y, y_stride);
    case 4: return AffineRowsT<4>(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y, y_stride);
    case 5: return AffineRowsT<5>(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y, y_stride);
    case 6: return AffineRowsT<6>(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y, y_stride);
    default: return AffineRowsT<8>(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y, y_stride);
  }
}

void GroupSums(const float* x, int64_t tokens, int64_t cols, int group_size, float* out) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const int64_t groups = cols / group_size;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = x + t * cols + g * group_size;
      VF a = hn::Zero(df), b = hn::Zero(df);
      for (int64_t j = 0; j < group_size; j += 2 * n) {  // group_size is a multiple of 2N
        a = hn::Add(a, hn::LoadU(df, xg + j));
        b = hn::Add(b, hn::LoadU(df, xg + j + n));
      }
      out[t * groups + g] = hn::GetLane(hn::SumOfLanes(df, hn::Add(a, b)));
    }
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

int64_t BlockCodes(int bits) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  switch (bits) {
    case 2: return n * Unit<2>::kCodes;
    case 3: case 4: return n * 8;
    default: return n * 4;
  }
}

void PermuteInput(int bits, const float* x, int64_t tokens, int64_t cols, int64_t padded_cols,
                  float* xp) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  const int64_t block = BlockCodes(bits), u = block / n;
  for (int64_t t0 = 0; t0 < tokens;) {
    const int tt = TokenTile(tokens - t0, padded_cols);
    float* dst = xp + t0 * padded_cols;  // this tile's tt · padded_cols floats
    // Within block b0: position (m·tt + i)·N + lane holds code b0 + lane·U + m of token t0 + i.
    for (int64_t b0 = 0; b0 < padded_cols; b0 += block)
      for (int64_t m = 0; m < u; ++m)
        for (int i = 0; i < tt; ++i) {
          const float* src = x + (t0 + i) * cols;
          float* d = dst + b0 * tt + (m * tt + i) * n;
          if (b0 + block <= cols) {
            for (int64_t lane = 0; lane < n; ++lane) d[lane] = src[b0 + lane * u + m];
          } else {
            for (int64_t lane = 0; lane < n; ++lane) {
              const int64_t k = b0 + lane * u + m;
              d[lane] = k < cols ? src[k] : 0.0f;
            }
          }
        }
    t0 += tt;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf::simd {

HWY_EXPORT(BlockCodes);
HWY_EXPORT(TargetName);

const char* float_target() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }
HWY_EXPORT(GroupSums);
HWY_EXPORT(PermuteInput);
HWY_EXPORT(AffineRows);

int64_t block_codes(int bits) { return HWY_DYNAMIC_DISPATCH(BlockCodes)(bits); }

void group_sums(const float* x, int64_t tokens, int64_t cols, int group_size, float* out) {
  HWY_DYNAMIC_DISPATCH(GroupSums)(x, tokens, cols, group_size, out);
}

void permute_input(int bits, const float* x, int64_t tokens, int64_t cols, int64_t padded_cols,
                   float* xp) {
  HWY_DYNAMIC_DISPATCH(PermuteInput)(bits, x, tokens, cols, padded_cols, xp);
}

void affine_rows(const WeightMatrix& w, const float* xp, int64_t padded_cols,
                 const float* group_sums, int64_t tokens, int64_t row_begin, int64_t row_end,
                 float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(AffineRows)(w, xp, padded_cols, group_sums, tokens, row_begin, row_end, y,
                                   y_stride);
}


}  // namespace tf::simd
#endif  // HWY_ONCE
