#include "tokenizer/bpe_model.h"

#include <queue>
#include <stdexcept>

#include "tokenizer/json_fields.h"
#include "tokenizer/tokenizer_json_reader.h"
#include "tokenizer/utf8.h"

namespace tf::tokenizer {

BpeModel::BpeModel(BpeModel&& o) noexcept { *this = std::move(o); }

BpeModel& BpeModel::operator=(BpeModel&& o) noexcept {
  token_to_id_ = std::move(o.token_to_id_);
  id_to_token_ = std::move(o.id_to_token_);
  merges_ = std::move(o.merges_);
  unk_id_ = o.unk_id_;
  continuing_subword_prefix_ = std::move(o.continuing_subword_prefix_);
  end_of_word_suffix_ = std::move(o.end_of_word_suffix_);
  byte_fallback_ = o.byte_fallback_;
  fuse_unk_ = o.fuse_unk_;
  ignore_merges_ = o.ignore_merges_;
  std::copy(std::begin(o.byte_tokens_), std::end(o.byte_tokens_), std::begin(byte_tokens_));
  cache_.clear();
  return *this;
}

namespace {

std::string optional_string(const nlohmann::json& spec, const char* key) {
  auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return {};
  if (!it->is_string()) throw std::runtime_error(std::string("model: field \"") + key + "\" must be a string or null");
  return it->get<std::string>();
}

// A merge is "a b" (older files) or ["a", "b"] (newer files).
std::pair<std::string, std::string> parse_merge(const nlohmann::json& m, size_t index) {
  const std::string where = "model.merges[" + std::to_string(index) + "]";
  if (m.is_string()) {
    const auto& s = m.get_ref<const std::string&>();
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
      throw std::runtime_error(where + ": \"" + s + "\" is not two tokens separated by one space");
    return {s.substr(0, space), s.substr(space + 1)};
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
    return {m[0].get<std::string>(), m[1].get<std::string>()};
  throw std::runtime_error(where + ": expected \"a b\" or [\"a\", \"b\"]");
}

// The vocabulary and merges of a model object parsed into a DOM.
BpeTables tables_from_dom(const nlohmann::json& spec) {
  BpeTables t;
  const auto& vocab = json_object(spec, "vocab", "model");
  t.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
      throw std::runtime_error("model.vocab: the id of token \"" + it.key() + "\" is not a non-negative integer");
    t.vocab.emplace_back(it.key(), it.value().get<int64_t>());
  }
  const auto& merges = json_array(spec, "merges", "model");
  t.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) t.merges.push_back(parse_merge(merges[i], i));
  return t;
}

}  // namespace

// Ids index a table of max id + 1 entries, so they must stay near the vocabulary's size: a
// hostile `"x": 2000000000` would otherwise ask for 16 GB. Real vocabularies number their
// tokens 0…n−1 (leaving room for added tokens after them); this allows gaps of up to 1M ids.
constexpr int64_t kMaxIdGap = 1 << 20;

BpeModel BpeModel::from_json(const nlohmann::json& spec, BpeTables* streamed) {
  if (!spec.is_object()) throw std::runtime_error("model: expected a JSON object");
  const std::string type = spec.value("type", std::string("BPE"));
  if (type != "BPE")
    throw std::runtime_error("model type '" + type + "' is not supported (only BPE tokenizers are)");
  BpeTables dom_tables;
  if (!streamed || spec.contains("vocab") || spec.contains("merges")) {
    dom_tables = tables_from_dom(spec);
    streamed = &dom_tables;
  }
  BpeModel m;
  m.token_to_id_.reserve(streamed->vocab.size());
  TokenId max_id = -1;
  const int64_t id_limit = static_cast<int64_t>(streamed->vocab.size()) + kMaxIdGap;
  for (auto& [token, id64] : streamed->vocab) {
    if (id64 < 0 || id64 >= id_limit)
      throw std::runtime_error("model.vocab: token \"" + token + "\" has id " + std::to_string(id64) + ", but the " +
                               std::to_string(streamed->vocab.size()) + " tokens must have ids below " +
                               std::to_string(id_limit) + " (is the file corrupt?)");
    const auto id = static_cast<TokenId>(id64);
    max_id = std::max(max_id, id);
    m.token_to_id_.emplace(std::move(token), id);
  }
  if (m.token_to_id_.size() != streamed->vocab.size())
    throw std::runtime_error("model.vocab: a token appears twice");
  m.id_to_token_.assign(static_cast<size_t>(max_id + 1), nullptr);
  for (const auto& [token, id] : m.token_to_id_) {
    if (m.id_to_token_[id])
      throw std::runtime_error("model.vocab: id " + std::to_string(id) + " is used by both \"" +
                               *m.id_to_token_[id] + "\" and \"" + token + "\"");
    m.id_to_token_[id] = &token;
  }

  m.continuing_subword_prefix_ = optional_string(spec, "continuing_subword_prefix");
  m.end_of_word_suffix_ = optional_string(spec, "end_of_word_suffix");
  m.byte_fallback_ = json_bool_or(spec, "byte_fallback", false, "model");
  m.fuse_unk_ = json_bool_or(spec, "fuse_unk", false, "model");
  m.ignore_merges_ = json_bool_or(spec, "ignore_merges", false, "model");
  if (const std::string unk = optional_string(spec, "unk_token"); !unk.empty()) {
    auto id = m.token_to_id(unk);
    if (!id) throw std::runtime_error("model.unk_token \"" + unk + "\" is not in the vocabulary");
    m.unk_id_ = *id;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    m.byte_tokens_[b] = m.token_to_id(name).value_or(-1);
  }

  const auto& merges = streamed->merges;
  m.merges_.reserve(merges.size());
  const size_t prefix_len = m.continuing_subword_prefix_.size();
  std::string merged;
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [a, b] = merges[i];
    const auto id_a = m.token_to_id(a), id_b = m.token_to_id(b);
    auto where = [&] { return "model.merges[" + std::to_string(i) + "]: token \""; };
    if (!id_a) throw std::runtime_error(where() + a + "\" is not in the vocabulary");
    if (!id_b) throw std::runtime_error(where() + b + "\" is not in the vocabulary");
    // The right part loses its continuation prefix when merged (Hugging Face semantics).
    const bool strip = prefix_len && b.compare(0, prefix_len, m.continuing_subword_prefix_) == 0;
    merged.assign(a);
    merged.append(b, strip ? prefix_len : 0, std::string::npos);
    const auto id_merged = m.token_to_id(merged);
    if (!id_merged) throw std::runtime_error(where() + merged + "\" (the merge result) is not in the vocabulary");
    // A duplicate rule keeps its first (lowest) rank.
    m.merges_.insert(*id_a, *id_b, Merge{static_cast<int32_t>(i), *id_merged});
  }
  if (m.continuing_subword_prefix_.empty() && m.end_of_word_suffix_.empty()) {
    m.small_char_ids_.assign(0x800, -1);
    for (char32_t c = 0; c < 0x800; ++c)
      if (auto id = m.token_to_id(utf8_encode(c))) m.small_char_ids_[c] = *id;
  }
  return m;
}

std::optional<TokenId> BpeModel::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return nullptr;
  return id_to_token_[id];
}

// One symbol per character, with the unknown-character rules: byte fallback to "<0xXX>"
// tokens, else the unk token (consecutive ones fused if asked), else the character is dropped.
void BpeModel::initial_symbols(std::string_view piece, std::vector<TokenId>& ids,
                               std::vector<int32_t>& lengths) const {
  std::string symbol;
  bool previous_unk = false;
  for (size_t i = 0; i < piece.size();) {
    size_t n = utf8_valid_length(piece, i);
    if (n == 0) n = 1;  // cannot happen for sanitized input; be total anyway
    if (!small_char_ids_.empty() && n <= 2) {  // fast path: the character itself is a token
      size_t len = 0;
      const char32_t c = utf8_decode_at(piece, i, &len);
      if (const TokenId id = small_char_ids_[c]; id >= 0) {
        ids.push_back(id);
        lengths.push_back(static_cast<int32_t>(n));
        previous_unk = false;
        i += n;
        continue;
      }
    }
    const bool first = i == 0, last = i + n == piece.size();
    symbol.clear();
    if (!first) symbol += continuing_subword_prefix_;
    symbol.append(piece.substr(i, n));
    if (last) symbol += end_of_word_suffix_;
    if (auto it = token_to_id_.find(symbol); it != token_to_id_.end()) {
      ids.push_back(it->second);
      lengths.push_back(static_cast<int32_t>(n));
      previous_unk = false;
    } else if (byte_fallback_ && [&] {
                 for (size_t k = 0; k < n; ++k)
                   if (byte_tokens_[static_cast<unsigned char>(piece[i + k])] < 0) return false;
                 return true;
               }()) {
      for (size_t k = 0; k < n; ++k) {
        ids.push_back(byte_tokens_[static_cast<unsigned char>(piece[i + k])]);
        lengths.push_back(1);
      }
      previous_unk = false;
    } else if (unk_id_) {
      if (fuse_unk_ && previous_unk) {
        lengths.back() += static_cast<int32_t>(n);
      } else {
        ids.push_back(*unk_id_);
        lengths.push_back(static_cast<int32_t>(n));
      }
      previous_unk = true;
    }
    i += n;
  }
}

void BpeModel::merge_symbols(std::vector<TokenId>& ids, std::vector<int32_t>& lengths) const {
  const int32_t n = static_cast<int32_t>(ids.size());
  if (n < 2) return;
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // Candidate merges ordered by (rank, position): the lowest rank first, leftmost on ties.
  struct Candidate {
    int32_t rank, pos;
    TokenId result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  for (int32_t i = 0; i + 1 < n; ++i)
    if (const Merge* m = find_merge(ids[i], ids[i + 1])) queue.push({m->rank, i, m->result});

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int32_t pos = top.pos;
    if (lengths[pos] == 0 || next[pos] < 0) continue;  // merged away, or now the last symbol
    const int32_t right = next[pos];
    const Merge* current = find_merge(ids[pos], ids[right]);
    if (!current || current->result != top.result) continue;  // stale entry
    ids[pos] = top.result;
    lengths[pos] += lengths[right];
    lengths[right] = 0;
    next[pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = pos;
    if (prev[pos] >= 0)
      if (const Merge* m = find_merge(ids[prev[pos]], ids[pos])) queue.push({m->rank, prev[pos], m->result});
    if (next[pos] >= 0)
      if (const Merge* m = find_merge(ids[pos], ids[next[pos]])) queue.push({m->rank, pos, m->result});
  }
  size_t out = 0;
  for (int32_t i = 0; i < n; ++i)
    if (lengths[i] != 0) ids[out++] = ids[i];
  ids.resize(out);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto id = token_to_id(piece)) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = piece.size() <= kCacheMaxPieceBytes;
  if (cacheable) {
    std::shared_lock lock(cache_mutex_);
    if (auto it = cache_.find(piece); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<TokenId> ids;
  std::vector<int32_t> lengths;
  ids.reserve(piece.size());
  lengths.reserve(piece.size());
  initial_symbols(piece, ids, lengths);
  merge_symbols(ids, lengths);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::unique_lock lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(std::string(piece), std::move(ids));
  }
}

}  // namespace tf::tokenizer
