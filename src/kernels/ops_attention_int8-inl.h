// The query side of Int8 key scores, shared by the targets that have them (AVX-512 VNNI:
// ops_attention_vnni-inl.h, NEON with dot products: ops_attention_neon-inl.h); included by
// ops_attention_simd.cpp inside the target's namespace. The query of each head is quantized per
// group of G elements (quantize_query_group, kernels/kv_quant.h: qi int8, scale d, float sum),
// and its dwords are laid out heads-as-lanes: dword i of head h = qi_h[4i .. 4i + 3].

constexpr int kInt8MaxDim = 256;  // head sizes the tiles hold (Qwen3.5: 256)
constexpr int kInt8MaxTiles = 16;  // head tiles (128 heads: a prefill query block of 16 tokens
                                   // × 8 heads); more heads run the float kernel

// The query of one tile of kHeadTile heads (heads past the tile's count are zero).
struct Int8Tile {
  alignas(32) int8_t qt[kInt8MaxDim / 4][kHeadTile][4];
  float d[kInt8MaxDim / 32][kHeadTile];    // per group and head
  float sum[kInt8MaxDim / 32][kHeadTile];  // per group and head
  int32_t qsum[kInt8MaxDim / 32][kHeadTile];  // Σ qi per group and head (centred 8-bit codes)
};

inline void PrepareInt8Tile(const float* q, int nh, int dim, int group, Int8Tile& t) {
  int8_t qi[kInt8MaxDim];
  for (int h = 0; h < kHeadTile; ++h) {
    for (int g = 0; g < dim / group; ++g) {
      if (h < nh) {
        quantize_query_group(q + h * dim + g * group, group, qi + g * group, &t.d[g][h],
                             &t.sum[g][h]);
      } else {
        std::fill(qi + g * group, qi + (g + 1) * group, int8_t{0});
        t.d[g][h] = t.sum[g][h] = 0.0f;
      }
      t.qsum[g][h] = 0;
      for (int e = 0; e < group; ++e) t.qsum[g][h] += qi[g * group + e];
    }
    for (int e = 0; e < dim; ++e) t.qt[e / 4][h][e % 4] = qi[e];
  }
}

// Quantized rows whose keys are scored with Int8 dots: the tiles of the call's heads.
template <int kBits>
struct QuantRowInt8 : QuantRow<kBits> {
  const Int8Tile* tiles;
};

