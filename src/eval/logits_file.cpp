// The saved top-k logits of a reference model (`eval kld --save-logits` / `--reference-logits`),
// so a large reference runs once. Layout, version 1, every number little-endian
// (docs/eval.md "Saved logits"):
//
//   offset  size  field
//   0       8     magic "TFTOPK01"
//   8       4     u32 format version (1)
//   12      4     u32 k (top logits kept per position)
//   16      8     u64 vocabulary size of the reference
//   24      8     u64 n, tokens of the text
//   32      8     u64 rows (n - 1: every token but the first is scored)
//   40      8     u64 window context
//   48      8     u64 window stride
//   56      4n    i32 tokens of the text
//   then rows × (8k + 8) bytes, one record per scored position in order:
//                 i32 ids[k] (largest logit first), f32 logits[k], f32 log-sum-exp of the other
//                 logits, f32 log p(actual next token)
//   last    32    SHA-256 of every byte before it
//
// 264 bytes a position at k = 32, against 2 bytes × vocabulary (~500 kB for Qwen3.5) for
// llama-perplexity's full-vocabulary file.
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "eval/sha256.h"
#include "tightfit/eval.h"

namespace tightfit::eval {

static_assert(std::endian::native == std::endian::little, "the logits file is read and written as memory");

namespace {

constexpr char kMagic[8] = {'T', 'F', 'T', 'O', 'P', 'K', '0', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 56, kChecksumBytes = 32;

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <class T>
T get(const std::string& in, size_t& at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof value);
  at += sizeof value;
  return value;
}

InvalidRequest corrupt(const std::string& path, const std::string& why) {
  return InvalidRequest(path + " is not a usable tightfit logits file: " + why, "reference_logits");
}

}  // namespace

void write_reference_logits(const std::string& path, const ReferenceLogits& r) {
  const uint64_t stride = r.windows.stride == 0 ? r.windows.context / 2 : r.windows.stride;
  std::string out;
  out.reserve(kHeaderBytes + 4 * r.tokens.size() + r.rows.size() * (8 * r.k + 8) + kChecksumBytes);
  out.append(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, static_cast<uint32_t>(r.k));
  put(out, static_cast<uint64_t>(r.vocab_size));
  put(out, static_cast<uint64_t>(r.tokens.size()));
  put(out, static_cast<uint64_t>(r.rows.size()));
  put(out, static_cast<uint64_t>(r.windows.context));
  put(out, stride);
  for (const int32_t t : r.tokens) put(out, t);
  for (const TopLogits& row : r.rows) {
    if (static_cast<int>(row.ids.size()) != r.k) throw Error("write_reference_logits: a row has the wrong k");
    for (const int32_t id : row.ids) put(out, id);
    for (const float l : row.logits) put(out, l);
    put(out, row.rest_log_sum_exp);
    put(out, row.target_logprob);
  }
  const auto digest = sha256(out);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw InvalidRequest("cannot write " + path + ": " + std::strerror(errno), "save_logits");
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
  file.close();
  if (!file) throw Error("writing " + path + " failed (disk full?)");
}

ReferenceLogits read_reference_logits(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw InvalidRequest("cannot read " + path + ": " + std::strerror(errno), "reference_logits");
  const std::string in((std::istreambuf_iterator<char>(file)), {});
  if (in.size() < kHeaderBytes + kChecksumBytes)
    throw corrupt(path, "only " + std::to_string(in.size()) + " bytes, less than a header (truncated?)");
  if (std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    throw corrupt(path, "it does not start with TFTOPK01 (written by `tightfit eval kld --save-logits`?)");
  size_t at = sizeof kMagic;
  const uint32_t version = get<uint32_t>(in, at);
  if (version != kVersion)
    throw corrupt(path, "format version " + std::to_string(version) + ", this tightfit reads version 1");
  ReferenceLogits r;
  r.k = static_cast<int>(get<uint32_t>(in, at));
  const uint64_t vocab = get<uint64_t>(in, at), n = get<uint64_t>(in, at), rows = get<uint64_t>(in, at);
  r.windows.context = static_cast<int64_t>(get<uint64_t>(in, at));
  r.windows.stride = static_cast<int64_t>(get<uint64_t>(in, at));
  r.vocab_size = static_cast<int64_t>(vocab);
  if (r.k < 1 || vocab < 1 || vocab > (1u << 24) || static_cast<uint64_t>(r.k) > vocab || n > (1ull << 32) ||
      rows > n)
    throw corrupt(path, "its header is inconsistent (k " + std::to_string(r.k) + ", vocabulary " +
                            std::to_string(vocab) + ", " + std::to_string(n) + " tokens, " + std::to_string(rows) +
                            " rows)");
  const uint64_t expected = kHeaderBytes + 4 * n + rows * (8ull * r.k + 8) + kChecksumBytes;
  if (in.size() < expected)
    throw corrupt(path, "truncated: " + std::to_string(in.size()) + " bytes, the header promises " +
                            std::to_string(expected) + " (was it written completely?)");
  if (in.size() > expected)
    throw corrupt(path, std::to_string(in.size() - expected) + " bytes follow the end the header promises");
  const auto digest = sha256(std::string_view(in.data(), in.size() - kChecksumBytes));
  if (std::memcmp(digest.data(), in.data() + in.size() - kChecksumBytes, kChecksumBytes) != 0)
    throw corrupt(path, "checksum mismatch: the file was changed or damaged after it was written");
  r.tokens.resize(n);
  for (auto& t : r.tokens) {
    t = get<int32_t>(in, at);
    if (t < 0 || static_cast<uint64_t>(t) >= vocab) throw corrupt(path, "a token id outside the vocabulary");
  }
  r.rows.resize(rows);
  for (TopLogits& row : r.rows) {
    row.ids.resize(r.k);
    row.logits.resize(r.k);
    for (auto& id : row.ids) {
      id = get<int32_t>(in, at);
      if (id < 0 || static_cast<uint64_t>(id) >= vocab) throw corrupt(path, "a top-k id outside the vocabulary");
    }
    for (auto& l : row.logits) l = get<float>(in, at);
    row.rest_log_sum_exp = get<float>(in, at);
    row.target_logprob = get<float>(in, at);
  }
  return r;
}

}  // namespace tightfit::eval
