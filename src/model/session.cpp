#include "model/session.h"

#include <algorithm>
#include <stdexcept>

namespace tf {

Session::Session(const Model& model, SessionOptions options)
    : options_(options),
      sequence_(model, options.kv_type, options.capacity, options.kv_group_size),
      pass_(model, {options.precision, options.linear_tap}) {
  if (options_.prefill_batch <= 0) throw std::invalid_argument("prefill_batch must be positive");
}

std::span<const float> Session::prefill(std::span<const int32_t> tokens, bool all_logits) {
  return feed(tokens, {}, {}, all_logits);
}

std::span<const float> Session::prefill_embeddings(std::span<const float> embeddings,
                                                   std::span<const Position3> positions,
                                                   bool all_logits) {
  const int64_t H = model().hidden_size();
  if (static_cast<int64_t>(embeddings.size()) != static_cast<int64_t>(positions.size()) * H)
    throw std::invalid_argument("prefill_embeddings: " + std::to_string(embeddings.size()) +
                                " floats for " + std::to_string(positions.size()) +
                                " positions of width " + std::to_string(H));
  return feed({}, embeddings, positions, all_logits);
}

std::span<const float> Session::decode(int32_t token) {
  return feed(std::span<const int32_t>(&token, 1), {}, {}, false);
}

std::span<const float> Session::feed(std::span<const int32_t> tokens,
                                     std::span<const float> embeddings,
                                     std::span<const Position3> positions, bool all_logits) {
  const int64_t H = model().hidden_size(), V = model().vocab_size();
  const bool ids = !tokens.empty();
  const int64_t T = static_cast<int64_t>(ids ? tokens.size() : positions.size());
  if (T == 0) return {};
  model().check_tokens(tokens);  // a bad id changes nothing, even in a later batch
  const bool one_batch = T <= options_.prefill_batch;
  if (all_logits && !one_batch) logits_.resize(T * V);
  std::span<const float> out;
  for (int64_t t0 = 0; t0 < T; t0 += options_.prefill_batch) {
    const int64_t n = std::min(options_.prefill_batch, T - t0);
    // Logits are only computed where needed: every row when asked, else the final token.
    BatchItem item;
    item.sequence = &sequence_;
    item.logits = all_logits ? OutputRows::All : t0 + n == T ? OutputRows::Last : OutputRows::None;
    if (ids) {
      item.tokens = tokens.subspan(t0, n);
    } else {
      item.embeddings = embeddings.subspan(t0 * H, n * H);
      item.positions = positions.subspan(t0, n);
    }
    pass_.run(std::span<const BatchItem>(&item, 1));
    out = pass_.logits(0);
    if (all_logits && !one_batch) std::copy(out.begin(), out.end(), logits_.begin() + t0 * V);
  }
  // One batch: the forward pass's output is the answer (every decode step) — no copy.
  return all_logits && !one_batch ? std::span<const float>(logits_) : out;
}

}  // namespace tf
