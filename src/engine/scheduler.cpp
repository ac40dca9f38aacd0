#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>

#include "engine/prompt_images.h"
#include "runtime/peak_memory.h"

namespace tightfit {

namespace {

void push_done(RequestState& state, StopReason reason, const std::string& error = {}) {
  Event done;
  done.kind = EventKind::done;
  done.stop = reason;
  done.error = error;
  state.push(std::move(done));
}

tf::ForwardOptions forward_options(const EngineContext& context) {
  tf::ForwardOptions options;
  options.precision = context.precision;
  return options;
}

// One sequence's rows of a batch.
tf::BatchItem batch_item(tf::Sequence& sequence, std::span<const int32_t> tokens) {
  tf::BatchItem item;
  item.sequence = &sequence;
  item.tokens = tokens;
  return item;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

Scheduler::Scheduler(const EngineContext& context)
    : context_(context),
      pass_(context.model(), forward_options(context)),
      cache_(context.options.prompt_cache_bytes),
      slots_(static_cast<size_t>(context.options.parallel)),
      budget_(context.plan, context.options.prompt_cache_bytes),
      thread_([this] { run(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Scheduler::enqueue(std::shared_ptr<RequestState> state, PreparedRequest prepared) {
  {
    std::lock_guard lock(mutex_);
    const int limit = context_.options.parallel + context_.options.max_queue;
    if (active_ + static_cast<int>(queue_.size()) >= limit) {
      ++stats_.requests_refused;
      throw Busy("the engine is busy: " + std::to_string(active_) + " requests running and " +
                 std::to_string(queue_.size()) + " waiting (max_queue " +
                 std::to_string(context_.options.max_queue) + "); try again later");
    }
    ++stats_.requests_total;
    stats_.prompt_tokens_total += prepared.prompt_tokens;
    queue_.push_back({std::move(state), std::move(prepared)});
  }
  wake_.notify_all();
}

EngineStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  EngineStats s = stats_;
  s.requests_active = active_;
  s.requests_queued = static_cast<int64_t>(queue_.size());
  s.prompt_cache_bytes = cache_.bytes();
  s.kv_reserved_tokens = budget_.reserved_tokens();
  s.resident_memory_bytes = tf::current_rss_bytes();
  return s;
}

bool Scheduler::has_work() const {
  if (active_ > 0 || job_) return true;
  const auto job_tokens = [&] { return static_cast<int64_t>(jobs_.front()->tokens.size()); };
  if (!jobs_.empty() && budget_.fits_now(job_tokens())) return true;
  return !queue_.empty() && active_ < static_cast<int>(slots_.size()) &&
         budget_.fits_now(queue_.front().prepared.kv_tokens);
}

void Scheduler::run() {
  for (;;) {
    std::vector<std::pair<Slot*, Queued>> admitted;
    std::vector<Queued> dropped;  // cancelled while queued
    bool reserved = false;
    uint64_t cache_room = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || has_work(); });
      if (stopping_) break;
      // A cancelled request waiting for room must not hold up the ones behind it.
      std::erase_if(queue_, [&](Queued& q) {
        if (!q.state->cancelled()) return false;
        dropped.push_back(std::move(q));
        return true;
      });
      for (Slot& slot : slots_) {
        if (queue_.empty()) break;
        if (slot.request) continue;
        bool taken = false;
        for (auto& [s, q] : admitted) taken |= s == &slot;
        if (taken) continue;
        // In order: the head of the queue waits until its KV fits beside the running requests'
        // (alone it fits: submit checked), and the requests behind it wait with it, so a long
        // request is never overtaken for good by short ones.
        const int64_t kv = queue_.front().prepared.kv_tokens;
        if (!budget_.fits_now(kv)) break;
        budget_.reserve(kv);
        slot.reserved = kv;
        reserved = true;
        admitted.emplace_back(&slot, std::move(queue_.front()));
        queue_.pop_front();
        ++active_;
      }
      if (!job_ && !jobs_.empty()) {
        // The prefix plus the longest continuation (score_continuations) share the sequence.
        const ScoreJob& next = *jobs_.front();
        int64_t longest = 0;
        for (const auto& c : next.continuations)
          longest = std::max<int64_t>(longest, static_cast<int64_t>(c.size()));
        const int64_t kv = static_cast<int64_t>(next.tokens.size()) + longest;
        if (budget_.fits_now(kv)) {
          job_ = jobs_.front();
          jobs_.pop_front();
          budget_.reserve(kv);
          job_->reserved = kv;
          reserved = true;
        }
      }
      cache_room = budget_.prompt_cache_room();
    }
    for (Queued& q : dropped) push_done(*q.state, StopReason::cancelled);
    // The prompt cache gives back what the new reservations took, before their sequences grow.
    if (reserved) cache_.fit(cache_room);
    for (auto& [slot, queued] : admitted) start(*slot, std::move(queued));
    step();
  }
  shut_down();
}

void Scheduler::start(Slot& slot, Queued queued) {
  RequestState& state = *queued.state;
  if (state.cancelled()) {
    release(slot);
    push_done(state, StopReason::cancelled);
    return;
  }
  try {
    auto r = std::make_unique<RunningRequest>(context_, queued.state, std::move(queued.prepared));
    r->started();
    const PreparedRequest& p = r->prepared();
    const tf::Model& model = context_.model();
    const int32_t image_token = static_cast<int32_t>(model.config().image_token_id);
    r->stable_point = static_cast<int64_t>(p.stable_point);
    r->images = image_shapes(model, p);
    const std::vector<tf::ImageFeatures>& images = r->images;
    if (!images.empty()) {
      r->ids = tf::expand_image_tokens(p.ids, image_token, images);
      // The stable point moves by the tokens the images before it expanded to.
      for (size_t i = 0, image = 0; i < p.stable_point; ++i)
        if (p.ids[i] == image_token) r->stable_point += images[image++].tokens - 1;
    }
    r->cache_key = prompt_cache_key(r->ids, image_token, p.images, p.image_config);
    if (!slot.sequence)
      slot.sequence = std::make_unique<tf::Sequence>(model, context_.kv_type, context_.context,
                                                       context_.kv_group_size);
    slot.sequence->reset();
    if (p.draft_tokens > 0) r->speculate_on(*slot.sequence, pass_.options());
    if (p.use_prompt_cache) {
      if (auto saved = cache_.lookup(r->cache_key)) {
        slot.sequence->load_snapshot(*saved);
        r->prefilled = r->cached = saved->length;
        std::lock_guard lock(mutex_);
        ++stats_.prompt_cache_hits;
        stats_.cached_tokens_total += saved->length;
      }
    }
    if (!images.empty()) {  // only the images past the restored prefix go through the tower
      r->pending_images.emplace(model, p, r->ids, image_token, r->prefilled, r->images);
      if (r->pending_images->done()) images_encoded(*r);
    }
    slot.request = std::move(r);
    slot.admitted = ++admissions_;
  } catch (const std::exception& e) {
    release(slot);
    push_done(state, StopReason::error, e.what());
  }
}

void Scheduler::images_encoded(RunningRequest& r) {
  r.pending_images.reset();
  r.multimodal = tf::build_multimodal_prompt(context_.model(), r.prepared().ids, r.images);
  r.images = {};
}

void Scheduler::run_vision_stages() {
  // The earliest admitted request whose images are not encoded yet.
  Slot* encoding = nullptr;
  for (Slot& slot : slots_)
    if (slot.request && slot.request->encoding_images() &&
        (!encoding || slot.admitted < encoding->admitted))
      encoding = &slot;
  if (!encoding) return;
  // One stage, then this step's forward for the other sequences; with nothing else to run, the
  // stages follow each other directly until a request arrives (admitted at the next step).
  bool others = job_ != nullptr;
  for (const Slot& slot : slots_) others |= slot.request && !slot.request->encoding_images();
  const auto arrivals = [&] {
    std::lock_guard lock(mutex_);
    return !queue_.empty() || !jobs_.empty();
  };
  RunningRequest& r = *encoding->request;
  try {
    do {
      r.add_vision_seconds(r.pending_images->run_stage());
    } while (!others && !r.pending_images->done() && !r.state().cancelled() && !arrivals());
    if (r.pending_images->done()) images_encoded(r);
  } catch (const std::exception& e) {
    r.finish(StopReason::error, e.what());
    release(*encoding);
  }
}

void Scheduler::build_batch() {
  items_.clear();
  owners_.clear();
  Slot* prefill = nullptr;
  for (Slot& slot : slots_) {
    if (!slot.request) continue;
    if (slot.request->encoding_images()) continue;  // run_vision_stages
    if (slot.request->prefilling()) {
      if (!prefill || slot.admitted < prefill->admitted) prefill = &slot;
      continue;
    }
    if (slot.request->speculating()) {  // the last token and its drafts: k + 1 rows
      std::span<const int32_t> rows;
      try {
        rows = slot.request->propose();  // runs the MTP head
      } catch (const std::exception& e) {
        slot.request->finish(StopReason::error, e.what());
        release(slot);
        continue;
      }
      tf::BatchItem item = batch_item(*slot.sequence, rows);
      item.logits = tf::OutputRows::All;
      item.hidden = tf::OutputRows::All;
      item.keep_states = true;  // the rewind to the accepted prefix needs every row's state
      items_.push_back(item);
    } else {
      slot.feed = slot.request->next_token();
      items_.push_back(batch_item(*slot.sequence, {&slot.feed, 1}));
    }
    owners_.push_back({&slot, false});
  }
  const int64_t chunk = context_.options.prefill_chunk;
  if (prefill) {
    RunningRequest& r = *prefill->request;
    const int64_t total = static_cast<int64_t>(r.ids.size());
    int64_t n = std::min(chunk, total - r.prefilled);
    // Stop at the stable point, to save the state there.
    const int64_t stable = r.stable_point;
    if (r.prepared().use_prompt_cache && stable > r.prefilled && stable < r.prefilled + n)
      n = stable - r.prefilled;
    tf::BatchItem item = batch_item(*prefill->sequence, {});
    if (r.multimodal) {
      const int64_t H = context_.model().hidden_size();
      item.embeddings =
          std::span<const float>(r.multimodal->embeddings).subspan(r.prefilled * H, n * H);
      item.positions =
          std::span<const tf::Position3>(r.multimodal->positions).subspan(r.prefilled, n);
    } else {
      item.tokens = std::span<const int32_t>(r.ids).subspan(r.prefilled, n);
    }
    item.logits = r.prefilled + n == total ? tf::OutputRows::Last : tf::OutputRows::None;
    if (r.speculating()) item.hidden = tf::OutputRows::All;  // the MTP head reads the prompt
    items_.push_back(item);
    owners_.push_back({prefill, true});
  }
  if (job_) {
    ScoreJob& job = *job_;
    const int64_t total = static_cast<int64_t>(job.tokens.size());
    if (!job.started) {
      job.started = true;
      if (!score_sequence_)
        score_sequence_ = std::make_unique<tf::Sequence>(context_.model(), context_.kv_type,
                                                         context_.context, context_.kv_group_size);
      score_sequence_->reset();
    }
    if (job.fed < total) {
      const int64_t n = std::min(chunk, total - job.fed);
      const bool wanted = job.fed + n > job.first_row;
      tf::BatchItem item = batch_item(*score_sequence_, job.tokens.subspan(job.fed, n));
      item.logits = wanted ? tf::OutputRows::All : tf::OutputRows::None;
      item.hidden = wanted && job.on_hidden && *job.on_hidden ? tf::OutputRows::All
                                                              : tf::OutputRows::None;
      items_.push_back(item);
    } else {  // the next chunk of a continuation, the first one from the prefix's state
      if (job.continuation_fed == 0) {
        if (job.after_prefix.length < 0) job.after_prefix = score_sequence_->checkpoint();
        else score_sequence_->restore(job.after_prefix);
      }
      const std::vector<int32_t>& continuation = job.continuations[job.continuation];
      const int64_t size = static_cast<int64_t>(continuation.size());
      const int64_t n = std::min(chunk, size - job.continuation_fed);
      tf::BatchItem item = batch_item(
          *score_sequence_, std::span<const int32_t>(continuation).subspan(job.continuation_fed, n));
      item.logits = tf::OutputRows::All;
      items_.push_back(item);
    }
    owners_.push_back({nullptr, true});
  }
}

void Scheduler::step() {
  for (Slot& slot : slots_) {
    if (slot.request && slot.request->state().cancelled()) {
      slot.request->finish(StopReason::cancelled);
      release(slot);
    }
  }
  if (job_ && job_->cancel && job_->cancel->load(std::memory_order_relaxed)) {
    job_->completed = false;
    finish_job(*job_);
  }
  run_vision_stages();
  build_batch();
  if (items_.empty()) return;
  const Clock::time_point t0 = Clock::now();
  try {
    pass_.run(items_);
  } catch (const std::exception&) {
    // The forward checks every item before changing any state: find the item at fault by
    // running them one by one; the others go on.
    for (size_t i = 0; i < items_.size(); ++i) {
      try {
        pass_.run(std::span(&items_[i], 1));
      } catch (const std::exception& e) {
        fail(owners_[i], e.what());
        continue;
      }
      process(owners_[i], items_[i], 0);
    }
    std::lock_guard lock(mutex_);
    stats_.busy_seconds += seconds_since(t0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    stats_.busy_seconds += seconds_since(t0);
  }
  for (size_t i = 0; i < items_.size(); ++i) process(owners_[i], items_[i], i);
}

void Scheduler::process(const Owner& owner, const tf::BatchItem& item, size_t output) {
  if (!owner.slot) return process_score(item, output);
  Slot& slot = *owner.slot;
  try {
    if (owner.prefill) {
      if (slot.request->speculating())
        slot.request->observe_prefill(item, pass_.hidden(output));
      process_prefill(slot, pass_.logits(output));
      return;
    }
    const tf::Sequence& sequence = *slot.sequence;
    const bool going_on =
        slot.request->speculating()
            ? slot.request->advance_speculative(pass_.logits(output), pass_.hidden(output),
                                                sequence.length(), sequence.capacity())
            : slot.request->advance(pass_.logits(output), sequence.length() < sequence.capacity());
    if (!going_on) release(slot);
  } catch (const std::exception& e) {
    slot.request->finish(StopReason::error, e.what());
    release(slot);
  }
}

void Scheduler::process_prefill(Slot& slot, std::span<const float> logits) {
  RunningRequest& r = *slot.request;
  tf::Sequence& sequence = *slot.sequence;
  r.prefilled = sequence.length();
  const std::span<const int32_t> prefix = std::span<const int32_t>(r.cache_key).first(r.prefilled);
  const bool at_stable = r.prefilled == r.stable_point;
  if (r.prepared().use_prompt_cache && (at_stable || !r.prefilling())) {
    // The snapshot's size (model/sequence.h) before taking it: KV rows, DeltaNet state, key.
    const uint64_t bytes = sequence.kv_cache_bytes() + context_.plan.deltanet_bytes_per_sequence +
                           prefix.size_bytes();
    uint64_t room;
    {
      std::lock_guard lock(mutex_);
      room = budget_.prompt_cache_room();
    }
    if (cache_.wants(prefix, bytes, room))
      cache_.save({prefix.begin(), prefix.end()}, sequence, bytes, room);
  }
  if (r.prefilling()) return;
  if (r.multimodal) sequence.set_rope_delta(r.multimodal->rope_delta);
  r.prompt_done();
  if (!r.advance(logits, sequence.length() < sequence.capacity())) release(slot);
}

void Scheduler::fail(const Owner& owner, const std::string& error) {
  if (!owner.slot) {
    job_->error = std::make_exception_ptr(Error("scoring failed: " + error));
    finish_job(*job_);
    return;
  }
  owner.slot->request->finish(StopReason::error, error);
  release(*owner.slot);
}

void Scheduler::release(Slot& slot) {
  std::unique_ptr<RunningRequest> request = std::move(slot.request);
  // The sequence's memory goes back now, not when the slot is next used: the budget counts it
  // free from here on.
  if (slot.sequence) slot.sequence->reset();
  {
    std::lock_guard lock(mutex_);
    --active_;
    budget_.release(slot.reserved);
    slot.reserved = 0;
    if (request) stats_.generated_tokens_total += request->generated();
  }
  if (request && request->finished()) request->state().push(request->take_done());
}

void Scheduler::shut_down() {
  for (Slot& slot : slots_) {
    if (!slot.request) continue;
    slot.request->finish(StopReason::cancelled);
    release(slot);
  }
  std::deque<Queued> queued;
  std::deque<ScoreJob*> jobs;
  {
    std::lock_guard lock(mutex_);
    queued.swap(queue_);
    jobs.swap(jobs_);
    if (job_) jobs.push_back(job_);
    job_ = nullptr;
  }
  for (Queued& q : queued) push_done(*q.state, StopReason::cancelled);
  for (ScoreJob* job : jobs) finish_job(*job);
}

}  // namespace tightfit
