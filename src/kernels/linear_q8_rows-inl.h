// The schedule every 32-code-block Int8 row kernel shares (linear_q8_avx2-inl.h for x86,
// linear_q8_neon-inl.h for ARM): a few tokens (a decode step of several sequences, a verify
// pass) in one token tile, each block unpacked once for all of them; decode streams each packed
// row once with software prefetch; prefill unpacks a tile of rows to bytes first. Included at
// the end of each, inside its namespace, after TF_Q8_TOKEN_TILE (the most tokens per tile that
// target's registers hold); it calls that namespace's RowTokens, ScaleRow and UnpackRow (all
// compiled with TF_Q8_ATTR) and reads its kRowSlack (bytes its unpack may read past a row).

// Most tokens a row is read for at once (each block unpacked once for all of them).
constexpr int kMaxTokenTile = TF_Q8_TOKEN_TILE;

// Every token of a batch of up to kMaxTokenTile in one tile; larger batches in equal tiles
// (a tile of one token would pay a row's unpack for one token).
inline int TokenTile(int64_t left) {
  const int64_t tiles = (left + kMaxTokenTile - 1) / kMaxTokenTile;
  return static_cast<int>((left + tiles - 1) / tiles);
}
constexpr size_t kRowTileBytes = 128 * 1024;   // packed weights per row tile (decode)
constexpr size_t kUnpackedTileBytes = 64 * 1024;  // unpacked codes per row tile (prefill)
constexpr int64_t kPrefetchRows = 4;
constexpr int64_t kStackGroups = 512;

// What the rows of a run share. Rows are read in place (packed; the matrix's last row from
// `last_row`, a copy with kRowSlack bytes after it) or, kBytes, from `codes`, the unpacked tile
// of rows that starts at row `codes_r0`.
struct RowRunArgs {
  const WeightMatrix* w;
  const Q8Input* in;
  int64_t t0;             // first token of the tile
  const uint8_t* codes;   // kBytes
  int64_t codes_r0;
  const uint8_t* last_row;  // packed, or nullptr where it needs no copy
  int64_t prefetch_end;     // rows past it are not prefetched
  float* sd;                // [kMaxTokenTile][groups] s_g · d_g, then [groups] β_g
  float* y;
  int64_t y_stride;
};

// Rows [r0, r1) against the tile of kTT tokens at args.t0: one loop per group size and tile
// size, so the per-row work (prefetch, scales, the row's dots) runs without a dispatch per row.
template <int kBits, bool kBytes, int kGroup, int kTT>
TF_Q8_ATTR void RowRun(const RowRunArgs& a, int64_t r0, int64_t r1) {
  const WeightMatrix& w = *a.w;
  const Q8Input& in = *a.in;
  const int64_t groups = in.groups, stride = groups;
  const size_t row_bytes = w.row_bytes();
  const size_t srow = static_cast<size_t>(groups) * dtype_size(w.dtype);
  float* b = a.sd + kMaxTokenTile * stride;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row;
    if constexpr (kBytes) {
      row = a.codes + (r - a.codes_r0) * w.cols;
    } else {
      row = a.last_row && r == w.rows - 1 ? a.last_row : w.data + static_cast<size_t>(r) * row_bytes;
      // Decode streams each row once: fetch a few rows ahead (the hardware prefetchers stop
      // at every 4 KiB page of the mapped file).
      if (r + kPrefetchRows < a.prefetch_end) {
        const uint8_t* ahead = w.data + static_cast<size_t>(r + kPrefetchRows) * row_bytes;
        for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(ahead + off);
        __builtin_prefetch(w.scales + (r + kPrefetchRows) * srow);
        __builtin_prefetch(w.biases + (r + kPrefetchRows) * srow);
      }
    }
    for (int i = 0; i < kTT; ++i)
      ScaleRow(w.scales + r * srow, w.dtype, groups, in.deltas + (a.t0 + i) * groups, a.sd + i * stride);
    ScaleRow(w.biases + r * srow, w.dtype, groups, nullptr, b);
    float dots[kTT];
    RowTokens<kBits, kBytes, kTT, kGroup>(row, in, a.t0, a.sd, stride, b, dots);
    for (int i = 0; i < kTT; ++i) a.y[(a.t0 + i) * a.y_stride + r] = dots[i];
  }
}

// RowRun for a tile of tt ≤ kTT tokens.
template <int kBits, bool kBytes, int kGroup, int kTT = kMaxTokenTile>
TF_Q8_ATTR inline __attribute__((always_inline)) void RowRunTile(int tt, const RowRunArgs& a,
                                                                 int64_t r0, int64_t r1) {
  if constexpr (kTT > 1)
    if (tt < kTT) return RowRunTile<kBits, kBytes, kGroup, kTT - 1>(tt, a, r0, r1);
  RowRun<kBits, kBytes, kGroup, kTT>(a, r0, r1);
}

template <int kBits, bool kBytes>
TF_Q8_ATTR void RowRunAnyGroup(int group, int tt, const RowRunArgs& a, int64_t r0, int64_t r1) {
  switch (group) {
    case 32: return RowRunTile<kBits, kBytes, 32>(tt, a, r0, r1);
    case 64: return RowRunTile<kBits, kBytes, 64>(tt, a, r0, r1);
    default: return RowRunTile<kBits, kBytes, 128>(tt, a, r0, r1);
  }
}

// Rows [row_begin, row_end) against every token of `in`. One or a few tokens (decode) read
// the packed rows directly, each row once. More tokens than one tile (prefill) first unpack a
// tile of rows into bytes (L2-resident), so the unpack is paid once per row, not once per
// 4 tokens; 5- and 6-bit rows are always unpacked first.
template <int kBits>
TF_Q8_ATTR void RowsT(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                      float* y, int64_t y_stride) {
  const int64_t groups = in.groups;
  const int64_t stride = groups;
  alignas(64) float stack[(kMaxTokenTile + 1) * kStackGroups];
  std::vector<float> heap;
  float* sd = stack;
  if (groups > kStackGroups) {
    heap.resize(static_cast<size_t>((kMaxTokenTile + 1) * stride));
    sd = heap.data();
  }
  const bool unpack_first = kBits == 5 || kBits == 6 || in.tokens > kMaxTokenTile;
  const size_t row_bytes = w.row_bytes();
  const int64_t tile_rows = std::max<int64_t>(
      1, static_cast<int64_t>(unpack_first ? kUnpackedTileBytes / w.cols : kRowTileBytes / row_bytes));
  // The matrix's last row, read in place, would let the unpack read kRowSlack bytes past the
  // mapped tensor: it is read from a copy with that room after it.
  thread_local std::vector<uint8_t> unpacked, last_row;
  last_row.clear();
  if (!unpack_first && kRowSlack > 0 && row_end == w.rows) {
    last_row.assign(row_bytes + kRowSlack, 0);
    std::memcpy(last_row.data(), w.data + static_cast<size_t>(w.rows - 1) * row_bytes, row_bytes);
  }
  if (unpack_first) unpacked.resize(static_cast<size_t>(tile_rows * w.cols));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(row_end, r0 + tile_rows);
    if (unpack_first)
      for (int64_t r = r0; r < r1; ++r)
        UnpackRow<kBits>(w.data + static_cast<size_t>(r) * row_bytes, w.cols,
                         unpacked.data() + (r - r0) * w.cols);
    for (int64_t t0 = 0; t0 < in.tokens;) {
      const int tt = TokenTile(in.tokens - t0);
      const RowRunArgs args{&w, &in, t0, unpacked.data(), r0,
                            last_row.empty() ? nullptr : last_row.data(), row_end, sd, y, y_stride};
      if (unpack_first)
        RowRunAnyGroup<kBits, true>(w.group_size, tt, args, r0, r1);
      else if constexpr (kBits != 5 && kBits != 6)
        RowRunAnyGroup<kBits, false>(w.group_size, tt, args, r0, r1);
      t0 += tt;
    }
  }
}

}  // namespace

void Rows(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end, float* y,
          int64_t y_stride) {
  with_affine_bits(w.bits, [&](auto bits) {
    RowsT<decltype(bits)::value>(w, in, row_begin, row_end, y, y_stride);
  });
}
