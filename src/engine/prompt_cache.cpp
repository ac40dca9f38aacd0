#include "engine/prompt_cache.h"

#include <algorithm>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tightfit {

namespace {

// FNV-1a, 64-bit (http://www.isthe.com/chongo/tech/comp/fnv/).
uint64_t fnv1a(uint64_t hash, const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

}  // namespace

std::vector<int32_t> prompt_cache_key(std::span<const int32_t> expanded_ids, int32_t image_token,
                                      std::span<const tf::RgbImage> images,
                                      const tf::ImagePreprocessorConfig& config) {
  std::vector<int32_t> key(expanded_ids.begin(), expanded_ids.end());
  size_t image = 0;
  for (size_t i = 0; i < key.size() && image < images.size();) {
    if (key[i] != image_token) {
      ++i;
      continue;
    }
    const tf::RgbImage& rgb = images[image++];
    uint64_t h = 0xcbf29ce484222325ull;
    const int64_t header[] = {rgb.width, rgb.height, config.min_pixels, config.max_pixels};
    h = fnv1a(h, header, sizeof header);
    h = fnv1a(h, rgb.pixels.data(), rgb.pixels.size());
    const int32_t value = -1 - static_cast<int32_t>(h & 0x7ffffffe);
    for (; i < key.size() && key[i] == image_token; ++i) key[i] = value;
  }
  return key;
}

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

bool PromptCache::wants(std::span<const int32_t> prefix, uint64_t bytes, uint64_t room) const {
  if (max_bytes_ == 0 || prefix.empty() || bytes > std::min(max_bytes_, room)) return false;
  std::lock_guard lock(mutex_);
  return std::none_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return std::equal(e.tokens.begin(), e.tokens.end(), prefix.begin(), prefix.end());
  });
}

size_t PromptCache::evict_to(uint64_t bytes, std::shared_ptr<tf::SequenceSnapshot>* spare) {
  size_t evicted = 0;
  while (bytes_ > bytes && !entries_.empty()) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const Entry& a, const Entry& b) {
                                     return a.last_used < b.last_used;
                                   });
    bytes_ -= oldest->bytes;
    if (spare && !*spare && oldest->state.use_count() == 1) *spare = std::move(oldest->state);
    entries_.erase(oldest);
    ++evicted;
  }
  return evicted;
}

void PromptCache::save(std::vector<int32_t> prefix, const tf::Sequence& sequence,
                       uint64_t bytes, uint64_t room) {
  const uint64_t limit = std::min(max_bytes_, room);
  if (bytes > limit) return;
  std::shared_ptr<tf::SequenceSnapshot> state;
  {
    std::lock_guard lock(mutex_);
    evict_to(limit - bytes, &state);
  }
  // The copy runs without the lock: stats readers on other threads need not wait for it.
  if (!state) state = std::make_shared<tf::SequenceSnapshot>();
  sequence.snapshot_into(*state);
  const uint64_t size = state->bytes() + prefix.size() * sizeof(int32_t);
  if (size > limit) return;
  std::lock_guard lock(mutex_);
  evict_to(limit - size);
  entries_.push_back({std::move(prefix), std::move(state), size, ++clock_});
  bytes_ += size;
}

void PromptCache::fit(uint64_t room) {
  size_t evicted;
  {
    std::lock_guard lock(mutex_);
    evicted = evict_to(std::min(max_bytes_, room));
  }
#if defined(__GLIBC__)
  // Snapshots below glibc's mmap threshold live on the heap, whose freed pages stay resident
  // until trimmed: the room was promised to a sequence, so hand it back now (malloc_trim(3)).
  if (evicted) malloc_trim(0);
#endif
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
