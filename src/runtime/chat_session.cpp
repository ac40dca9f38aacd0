#include "runtime/chat_session.h"

#include <algorithm>
#include <chrono>

#include "tokenizer/chat_template.h"

namespace tf {

using nlohmann::ordered_json;

ChatSession::ChatSession(Session& session, const tokenizer::ModelTokenizer& tokenizer,
                         GenerationParams params, ChatOptions options)
    : session_(session),
      tokenizer_(tokenizer),
      generator_(session, tokenizer.tokenizer, std::move(params)),
      options_(std::move(options)) {
  if (!options_.template_kwargs.is_object())
    throw std::invalid_argument("chat template arguments must be a JSON object");
  options_.max_checkpoints = std::max<size_t>(options_.max_checkpoints, 1);
  reset();
}

void ChatSession::reset() {
  messages_ = ordered_json::array();
  images_.clear();
  if (!options_.system_prompt.empty())
    messages_.push_back({{"role", "system"}, {"content", options_.system_prompt}});
  saved_.clear();
  session_.reset();
}

ordered_json ChatSession::with_user(const std::string& user_message, size_t images) const {
  ordered_json messages = messages_;
  if (images == 0) {
    messages.push_back({{"role", "user"}, {"content", user_message}});
    return messages;
  }
  // Images first, then the text, as `generate --image` and mlx-vlm lay the message out.
  ordered_json content = ordered_json::array();
  for (size_t i = 0; i < images; ++i) content.push_back({{"type", "image"}});
  content.push_back({{"type", "text"}, {"text", user_message}});
  messages.push_back({{"role", "user"}, {"content", content}});
  return messages;
}

std::string ChatSession::render_messages(const ordered_json& messages,
                                         bool add_generation_prompt) const {
  tokenizer::ChatRequest request;
  request.messages = messages;
  request.add_generation_prompt = add_generation_prompt;
  request.enable_thinking = options_.enable_thinking;
  request.extra_kwargs = options_.template_kwargs;
  request.extra_kwargs["add_generation_prompt"] = add_generation_prompt;
  return tokenizer::apply_chat_template(tokenizer_.config, request);
}

std::string ChatSession::render(const std::string& user_message) const {
  return render_messages(with_user(user_message), true);
}

size_t ChatSession::stable_point(const ordered_json& messages, const std::string& text,
                                 const std::vector<int32_t>& ids) const {
  // The generation prompt is what the template adds after the history. Its first line is the
  // role header; what follows (Qwen: "<think>\n" or an empty think block) is not how the
  // finished turn will be rendered next time.
  const std::string history = render_messages(messages, false);
  if (text.compare(0, history.size(), history) != 0) return 0;
  size_t cut = text.find('\n', history.size());
  cut = cut == std::string::npos ? history.size() : cut + 1;
  for (size_t end : {cut, history.size()}) {
    const std::vector<int32_t> head = tokenizer_.tokenizer.encode(text.substr(0, end));
    // Only a point where the tokenization of the whole prompt agrees (a token boundary).
    if (head.size() < ids.size() && std::equal(head.begin(), head.end(), ids.begin()))
      return head.size();
  }
  return 0;
}

int64_t ChatSession::restore_for(const std::vector<int32_t>& ids) {
  const Saved* best = nullptr;
  for (const Saved& s : saved_) {
    if (s.tokens.size() >= ids.size() || !session_.can_restore(s.state)) continue;
    if (!std::equal(s.tokens.begin(), s.tokens.end(), ids.begin())) continue;
    if (!best || s.tokens.size() > best->tokens.size()) best = &s;
  }
  if (best) {
    session_.restore(best->state);
  } else {
    session_.reset();
    saved_.clear();  // a reset invalidates every checkpoint
  }
  return session_.length();
}

GenerationResult ChatSession::send(const std::string& user_message, const PieceCallback& on_piece,
                                   const std::atomic<bool>* cancel) {
  return send(user_message, {}, on_piece, cancel);
}

GenerationResult ChatSession::send(const std::string& user_message,
                                   std::vector<ImageFeatures> images,
                                   const PieceCallback& on_piece,
                                   const std::atomic<bool>* cancel) {
  const ordered_json messages = with_user(user_message, images.size());
  const std::string text = render_messages(messages, true);
  const std::vector<int32_t> rendered = tokenizer_.tokenizer.encode(text);
  size_t stable = stable_point(messages, text, rendered);

  // With images anywhere in the history, the prompt is prefilled from embeddings with 3-D
  // positions; image placeholders expand to N tokens, which moves the stable point too.
  std::vector<ImageFeatures> all_images = images_;
  for (ImageFeatures& f : images) all_images.push_back(std::move(f));
  const bool multimodal = !all_images.empty();
  MultimodalPrompt mm;
  if (multimodal) {
    mm = build_multimodal_prompt(session_.model(), rendered, all_images);
    const int32_t image_token = session_.model().config().image_token_id;
    size_t image = 0, expanded = stable;
    for (size_t i = 0; i < stable; ++i)
      if (rendered[i] == image_token) expanded += all_images[image++].tokens - 1;
    stable = expanded;
  }
  const std::vector<int32_t>& ids = multimodal ? mm.ids : rendered;

  const int64_t kept = restore_for(ids);
  // Prefill up to the stable point ourselves, to checkpoint there; the generator does the rest.
  const auto t0 = std::chrono::steady_clock::now();
  int64_t early = 0;
  if (static_cast<int64_t>(stable) > kept) {
    const int64_t n = static_cast<int64_t>(stable) - kept;
    if (multimodal) {
      const int64_t H = session_.model().hidden_size();
      session_.prefill_embeddings(std::span<const float>(mm.embeddings).subspan(kept * H, n * H),
                                  std::span<const Position3>(mm.positions).subspan(kept, n));
    } else {
      session_.prefill(std::span<const int32_t>(ids).subspan(kept, n));
    }
    early = n;
    saved_.push_back({std::vector<int32_t>(ids.begin(), ids.begin() + stable),
                      session_.checkpoint()});
    while (saved_.size() > options_.max_checkpoints) saved_.pop_front();
  }
  const double early_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const bool opens_reasoning = prompt_opens_reasoning(text);
  GenerationResult r = multimodal
                           ? generator_.run_multimodal(mm, opens_reasoning, on_piece, cancel)
                           : generator_.run(ids, opens_reasoning, on_piece, cancel);
  r.stats.prompt_tokens += early;
  r.stats.prompt_seconds += early_seconds;
  r.stats.reused_tokens = kept;

  messages_ = messages;
  images_ = std::move(all_images);
  ordered_json answer = {{"role", "assistant"}, {"content", r.answer}};
  if (!r.reasoning.empty()) answer["reasoning_content"] = r.reasoning;
  messages_.push_back(std::move(answer));
  return r;
}

}  // namespace tf
