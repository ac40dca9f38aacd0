// The prompt cache: sequence states saved at token prefixes of earlier prompts (the stable
// point of a chat prompt, the end of a prompt), so a request that extends one (the next turn of
// a conversation, the same system prompt) loads the longest saved prefix into its slot and
// prefills only the rest. Bounded in bytes by its budget and, under a memory limit, by the room
// the running sequences leave (engine/memory_budget.h): the least recently used entries go
// first. Each entry is a SequenceSnapshot (model/sequence.h): it fits any slot.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "model/sequence.h"
#include "runtime/image_file.h"
#include "runtime/image_preprocessor.h"

namespace tightfit {

// The key of an expanded prompt with images: its ids, each image's run of placeholder tokens
// replaced by one negative value hashed from the image's pixels and the resize settings (the
// placeholders alone are the same id for every image). Text ids are kept, so a text prompt's
// key is its ids.
std::vector<int32_t> prompt_cache_key(std::span<const int32_t> expanded_ids, int32_t image_token,
                                      std::span<const tf::RgbImage> images,
                                      const tf::ImagePreprocessorConfig& config);

class PromptCache {
 public:
  explicit PromptCache(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // The saved state of the longest saved prefix of `tokens` that is shorter than it (at least
  // one token must be left to prefill: its logits start the generation); null when none.
  std::shared_ptr<const tf::SequenceSnapshot> lookup(std::span<const int32_t> tokens);

  // Whether saving a prefix is worth a snapshot of about `bytes`: enabled, not held yet, and
  // within `room` (the bytes the cache may hold now, MemoryBudget::prompt_cache_room).
  bool wants(std::span<const int32_t> prefix, uint64_t bytes, uint64_t room) const;
  // Keeps a snapshot of `sequence` as the state after `prefix` (its tokens so far; `bytes`:
  // the snapshot's size as wants() was asked), evicting the least recently used entries to
  // stay within the budget and `room` (a snapshot larger than either is not kept). The
  // storage of an evicted snapshot that no request still holds is reused, so a save into a
  // full cache costs one copy of the state rather than fresh memory's page faults.
  void save(std::vector<int32_t> prefix, const tf::Sequence& sequence, uint64_t bytes,
            uint64_t room);
  // Evicts the least recently used entries until the cache holds at most `room` bytes, and
  // returns their memory to the system: a sequence admitted under a memory limit needs it.
  void fit(uint64_t room);

  uint64_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    std::shared_ptr<tf::SequenceSnapshot> state;
    uint64_t bytes = 0;
    uint64_t last_used = 0;
  };
  // With mutex_ held: evicts down to `bytes`, returns the number evicted; the first evicted
  // snapshot nobody else holds is moved to `*spare` when given and empty.
  size_t evict_to(uint64_t bytes, std::shared_ptr<tf::SequenceSnapshot>* spare = nullptr);

  const uint64_t max_bytes_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t bytes_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace tightfit
