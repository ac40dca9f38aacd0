// attend_group / attend_group_partial (ops_attention.h): the query heads that share one kv head
// (GQA, 8 per kv head in Qwen3.5-35B-A3B) attend together, so each cached key and value row is
// read from memory once per token instead of once per head — at a 32K context the cache is
// 16–32 MB per kv head and layer, far beyond the caches, and decode time at long context is
// the time to stream it. One pass over the rows with an online softmax (running max m and sum l
// per head; when a block raises m, the accumulated output and l are scaled by e^{m_old − m_new}),
// in blocks of kBlock rows that stay in L1 while a tile of heads uses them. Rows may be stored as
// f32, f16 or bf16 and are widened to float in registers (Highway PromoteTo), so the arithmetic
// is the reference's float32 arithmetic in another order; quantized rows (q8 / q4 / q2,
// kernels/kv_quant.h) are dequantized in registers as they are read — there is no float copy of
// the cache, and a decode step streams only the packed bytes. Highway SIMD picked at run time; dims
// that are not a multiple of the vector length run the reference.
//
// What was measured (32K context, 10 layers × 2 kv heads, 2 threads of a quiet Xeon): software
// prefetch of the next rows is worth ~30 % (without it 84–116 ms per token in f16 instead of
// 63–91); a T1 hint is the same as T0, a non-temporal one twice as slow. Summing four scores
// with shared shuffles and 4-vector value steps on AVX-512 changed nothing measurable, so the
// simpler form stayed: the kernel waits on memory, not on arithmetic.
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

constexpr int64_t kBlock = 32;  // rows per block: 32 × 256 × (2 + 2) bytes of f16 K + V = 32 KB
constexpr int kHeadTile = 4;    // heads per register tile: 4 heads × 2 rows (or 2 vectors) = 8
                                // accumulators, which fits 16-register targets too

// How a kernel reads a cached row (a byte pointer): Load(d, row, c) is the float vector of
// elements [c, c + L). Float rows widen in registers (Highway PromoteTo).
template <typename T>
struct FloatRow {
  HWY_INLINE VF Load(DF d, const uint8_t* row, int c) const {
    const T* p = reinterpret_cast<const T*>(row) + c;
    if constexpr (std::is_same_v<T, float>) {
      return hn::LoadU(d, p);
    } else {
      return hn::PromoteTo(d, hn::LoadU(hn::Rebind<T, DF>(), p));
    }
  }
};

// Quantized rows (kernels/kv_quant.h): L codes of one plane are L consecutive bytes, so a
// vector is one byte load widened to int32, one shift and a mask, converted and dequantized with
// the group's scale and bias (s·q + β, one FMA). Requires P (bytes of a plane) to be a multiple
// of L, so a vector never straddles planes or groups.
template <int kBits>
struct QuantRow {
  int group_shift;  // log2 G
  int plane_shift;  // log2 P, P = G·b/8
  int groups;       // groups of the row: the bias of group g is groups after its scale
  size_t scales_at;  // bytes of codes before the bf16 scales

  HWY_INLINE VF Load(DF d, const uint8_t* row, int c) const {
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
    uint16_t sb[2];
    std::memcpy(&sb[0], row + scales_at + 2 * g, 2);
    std::memcpy(&sb[1], row + scales_at + 2 * (groups + g), 2);
    return hn::MulAdd(hn::ConvertTo(d, q), hn::Set(d, bf16_to_f32(sb[0])),
                      hn::Set(d, bf16_to_f32(sb[1])));
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

// s[h][p] = scale · q_h · k_{p0+p} for NH heads and p < n, two keys at a time: each key vector is
// widened once for all NH heads, and 2·NH independent sums hide the FMA latency. When
// prefetch_values is set, the block's value rows (same row indices) are requested meanwhile, so
// they arrive while the scores are computed: the hardware prefetchers alone stall at every 4 KiB
// page of a long cache.
template <int NH, class Format>
HWY_INLINE void Scores(const float* q, int dim, const Format& f, const Rows& rows, int64_t p0,
                       int64_t n, float scale, float (*s)[kBlock], bool prefetch_values) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  int64_t p = 0;
  for (; p + 2 <= n; p += 2) {
    const uint8_t* k0 = rows.key(p0 + p);
    const uint8_t* k1 = rows.key(p0 + p + 1);
    if (prefetch_values) {
      PrefetchBytes(rows.value(p0 + p), 0, rows.row_bytes);
      PrefetchBytes(rows.value(p0 + p + 1), 0, rows.row_bytes);
    }
    VF a[NH][2];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) a[h][0] = a[h][1] = hn::Zero(d);
    for (int i = 0; i < dim; i += L) {
      const VF x0 = f.Load(d, k0, i), x1 = f.Load(d, k1, i);
      HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
        const VF qv = hn::LoadU(d, q + h * dim + i);
        a[h][0] = hn::MulAdd(qv, x0, a[h][0]);
        a[h][1] = hn::MulAdd(qv, x1, a[h][1]);
      }
    }
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
      s[h][p] = scale * hn::GetLane(hn::SumOfLanes(d, a[h][0]));
      s[h][p + 1] = scale * hn::GetLane(hn::SumOfLanes(d, a[h][1]));
    }
  }
  if (p < n) {
    const uint8_t* k0 = rows.key(p0 + p);
    VF a[NH];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) a[h] = hn::Zero(d);
    for (int i = 0; i < dim; i += L) {
      const VF x0 = f.Load(d, k0, i);
      HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
        a[h] = hn::MulAdd(hn::LoadU(d, q + h * dim + i), x0, a[h]);
    }
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
      s[h][p] = scale * hn::GetLane(hn::SumOfLanes(d, a[h]));
  }
}

// Online softmax step of one head over one block: s[0..n) becomes e^{s − m_new} (padded to a
// whole number of vectors), l and the head's output acc[dim] are rescaled if the max grew.
HWY_INLINE void SoftmaxStep(float* s, int64_t n, int dim, float& m, float& l, float* acc) {
  const DF d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  float bm = s[0];
  for (int64_t p = 1; p < n; ++p) bm = std::max(bm, s[p]);
  if (bm > m) {
    if (m != -INFINITY) {  // before the first block acc and l are still zero
      const float f = std::exp(m - bm);
      l *= f;
      const VF vf = hn::Set(d, f);
      for (int i = 0; i < dim; i += static_cast<int>(L))
        hn::StoreU(hn::Mul(hn::LoadU(d, acc + i), vf), d, acc + i);
    }
    m = bm;
  }
  const int64_t padded = (n + L - 1) / L * L;  // ≤ kBlock: kBlock is a multiple of L
  for (int64_t p = n; p < padded; ++p) s[p] = -1e30f;  // e^{-1e30 − m} = 0
  const VF vm = hn::Set(d, m);
  VF sum = hn::Zero(d);
  for (int64_t p = 0; p < padded; p += L) {
    const VF e = hn::Exp(d, hn::Sub(hn::LoadU(d, s + p), vm));
    hn::StoreU(e, d, s + p);
    sum = hn::Add(sum, e);
  }
  l += hn::GetLane(hn::SumOfLanes(d, sum));
}

// acc_h[dim] += Σ_{p<n} w[h][p] · v_{p0+p} for NH heads, two vectors of columns at a time: each
// value vector is widened once for all NH heads. Meanwhile the key rows of the next block
// (next_n rows from p0 + n; 0: none) are requested, a slice of each row per column step.
template <int NH, class Format>
HWY_INLINE void Accumulate(const float (*w)[kBlock], const Format& f, const Rows& rows,
                           int64_t p0, int64_t n, int dim, float* acc, int64_t next_n) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  const size_t rb = rows.row_bytes;
  int c = 0;
  for (; c + 2 * L <= dim; c += 2 * L) {
    VF a[NH][2];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
      a[h][0] = hn::LoadU(d, acc + h * dim + c);
      a[h][1] = hn::LoadU(d, acc + h * dim + c + L);
    }
    // This column step's share of each next key row (the last step takes the rest: a quantized
    // row's scales follow its codes).
    const size_t from = rb * c / dim;
    const size_t to = c + 4 * L > dim ? rb : rb * (c + 2 * L) / dim;
    for (int64_t p = 0; p < n; ++p) {
      if (p < next_n)  // spread between the loads: a burst of prefetches stalls
        PrefetchBytes(rows.key(p0 + n + p), from, to);
      const uint8_t* v = rows.value(p0 + p);
      const VF x0 = f.Load(d, v, c), x1 = f.Load(d, v, c + L);
      HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
        const VF wv = hn::Set(d, w[h][p]);
        a[h][0] = hn::MulAdd(wv, x0, a[h][0]);
        a[h][1] = hn::MulAdd(wv, x1, a[h][1]);
      }
    }
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
      hn::StoreU(a[h][0], d, acc + h * dim + c);
      hn::StoreU(a[h][1], d, acc + h * dim + c + L);
    }
  }
  if (c < dim) {  // one vector left (dim is an odd number of vectors)
    VF a[NH];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) a[h] = hn::LoadU(d, acc + h * dim + c);
    for (int64_t p = 0; p < n; ++p) {
      const VF x0 = f.Load(d, rows.value(p0 + p), c);
      HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
        a[h] = hn::MulAdd(hn::Set(d, w[h][p]), x0, a[h]);
    }
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) hn::StoreU(a[h], d, acc + h * dim + c);
  }
}

// One block of rows for one tile of NH heads: scores, online softmax step, weighted values.
// prefetch_n > 0: also request this block's values and the next block's keys (prefetch_n rows).
template <int NH, class Format>
HWY_INLINE void Block(const float* q, const Format& f, const Rows& rows, int64_t p0, int64_t n,
                      int dim, float scale, float* acc, float* m, float* l, int64_t prefetch_n) {
  HWY_ALIGN float s[kHeadTile][kBlock];
  Scores<NH>(q, dim, f, rows, p0, n, scale, s, prefetch_n > 0);
  HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
    SoftmaxStep(s[h], n, dim, m[h], l[h], acc + h * dim);
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
      switch (std::min(kHeadTile, heads - h0)) {
        case 4: Block<4>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf); break;
        case 3: Block<3>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf); break;
        case 2: Block<2>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf); break;
        default: Block<1>(qh, f, rows, p0, n, dim, scale, ah, mh, lh, pf); break;
      }
    }
  }
}

int Log2(int x) {
  int k = 0;
  while ((1 << k) < x) ++k;
  return k;
}

template <int kBits>
bool QuantPartial(const float* q, int heads, const KVRows& kv, const Rows& rows, int64_t begin,
                  int64_t end, int dim, float scale, float* acc, float* m, float* l) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  const int plane = kv.group_size * kBits / 8;
  if (!kv_quant_row_valid(kBits, kv.stride, kv.group_size) || plane % L != 0) return false;
  const QuantRow<kBits> f{Log2(kv.group_size), Log2(plane),
                          static_cast<int>(kv.stride / kv.group_size),
                          static_cast<size_t>(kv.stride) * kBits / 8};
  PartialT(q, heads, f, rows, begin, end, dim, scale, acc, m, l);
  return true;
}

bool AttendGroupPartial(const float* q, int heads, const KVRows& kv, int64_t begin, int64_t end,
                        int dim, float scale, float* acc, float* m, float* l) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  if (dim % L != 0 || kBlock % L != 0) return false;
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
// Dispatched from inside tf::simd: where only one target is compiled (NEON without SVE),
// HWY_DYNAMIC_DISPATCH becomes a static call to N_<TARGET>::AttendGroupPartial in this namespace.
bool DispatchAttendGroupPartial(const float* q, int heads, const KVRows& kv, int64_t begin,
                                int64_t end, int dim, float scale, float* acc, float* max,
                                float* sum) {
  return HWY_DYNAMIC_DISPATCH(AttendGroupPartial)(q, heads, kv, begin, end, dim, scale, acc, max,
                                                  sum);
}
}  // namespace simd

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
