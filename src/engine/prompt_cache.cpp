#include "engine/prompt_cache.h"

#include <algorithm>

namespace tightfit {

std::shared_ptr<const tf::SequenceSnapshot> PromptCache::lookup(std::span<const int32_t> tokens) {
  std::lock_guard lock(mutex_);
  Entry* best = nullptr;
  for (Entry& e : entries_) {
    if (e.tokens.size() >= tokens.size()) continue;
    if (best && e.tokens.size() <= best->tokens.size()) continue;
    if (std::equal(e.tokens.begin(), e.tokens.end(), tokens.begin())) best = &e;
  }
  if (!best) return nullptr;
  best->last_used = ++clock_;
  return best->state;
}

bool PromptCache::wants(std::span<const int32_t> prefix) const {
  if (max_bytes_ == 0 || prefix.empty()) return false;
  std::lock_guard lock(mutex_);
  return std::none_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return std::equal(e.tokens.begin(), e.tokens.end(), prefix.begin(), prefix.end());
  });
}

void PromptCache::save(std::vector<int32_t> prefix, tf::SequenceSnapshot snapshot) {
  const uint64_t size = snapshot.bytes() + prefix.size() * sizeof(int32_t);
  if (size > max_bytes_) return;
  std::lock_guard lock(mutex_);
  while (bytes_ + size > max_bytes_ && !entries_.empty()) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const Entry& a, const Entry& b) {
                                     return a.last_used < b.last_used;
                                   });
    bytes_ -= oldest->bytes;
    entries_.erase(oldest);
  }
  entries_.push_back({std::move(prefix),
                      std::make_shared<const tf::SequenceSnapshot>(std::move(snapshot)), size,
                      ++clock_});
  bytes_ += size;
}

uint64_t PromptCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

size_t PromptCache::entries() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace tightfit
