// A multi-turn conversation over one model session: keeps the message history, renders it with
// the model's chat template every turn, and reuses the processed state so that each turn only
// prefills its new tokens.
//
// Why checkpoints and not simply "keep going": the template re-renders earlier turns
// differently from what was generated (Qwen3.5 drops the reasoning of earlier assistant turns,
// spec §7.2), and the Gated DeltaNet state cannot be rolled back token by token. So each turn,
// right after the role header of the generation prompt ("<|im_start|>assistant\n" — the last
// point the next rendering is sure to share), the session state is checkpointed; the next turn
// restores the longest checkpoint whose tokens are a prefix of its rendered prompt and prefills
// only the rest (the previous answer as the template renders it, and the new user message).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/session.h"
#include "runtime/generator.h"
#include "runtime/multimodal_prompt.h"
#include "tokenizer/tokenizer_config.h"

namespace tf {

struct ChatOptions {
  std::string system_prompt;             // empty: no system message
  std::optional<bool> enable_thinking;   // unset: the template's default
  // More template variables (--chat-template-args); they override the ones above.
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  // Checkpoints kept (the newest ones); each holds a copy of the DeltaNet state.
  size_t max_checkpoints = 2;
};

class ChatSession {
 public:
  // The session and tokenizer must outlive the chat. The session is reset first.
  ChatSession(Session& session, const tokenizer::ModelTokenizer& tokenizer,
              GenerationParams params, ChatOptions options);

  // One turn: adds the user message, generates the answer (pieces streamed to on_piece) and
  // adds it to the history (a cancelled answer is kept as far as it got). stats.prompt_tokens
  // counts only the tokens prefilled in this turn, stats.reused_tokens those restored.
  GenerationResult send(const std::string& user_message, const PieceCallback& on_piece,
                        const std::atomic<bool>* cancel = nullptr);
  // The same with images (encoded with runtime/multimodal_prompt.h's encode_image*), placed
  // before the text of the user message. The features are kept with the history, since every
  // turn's prompt holds all earlier images too. Throws std::invalid_argument when the model
  // has no image_token_id, std::logic_error when it has no vision tower.
  GenerationResult send(const std::string& user_message, std::vector<ImageFeatures> images,
                        const PieceCallback& on_piece, const std::atomic<bool>* cancel = nullptr);

  // Forgets the conversation (the system prompt and settings stay).
  void reset();
  void set_thinking(std::optional<bool> enable) { options_.enable_thinking = enable; }
  std::optional<bool> thinking() const { return options_.enable_thinking; }

  const nlohmann::ordered_json& messages() const { return messages_; }
  // The prompt the next turn would start from for `user_message`, as text and ids (for tests
  // and --verbose): the history, that message and the generation prompt.
  std::string render(const std::string& user_message) const;
  size_t checkpoints() const { return saved_.size(); }

 private:
  struct Saved {
    std::vector<int32_t> tokens;  // what the session held when checkpointed
    SequenceCheckpoint state;
  };
  nlohmann::ordered_json with_user(const std::string& user_message, size_t images = 0) const;
  std::string render_messages(const nlohmann::ordered_json& messages,
                              bool add_generation_prompt) const;
  // Where to checkpoint in `ids` (the rendered prompt `text` of `messages`): after the
  // generation prompt's first line; 0 when no stable point is found.
  size_t stable_point(const nlohmann::ordered_json& messages, const std::string& text,
                      const std::vector<int32_t>& ids) const;
  // Restores the longest usable checkpoint for `ids` (or resets); returns the length kept.
  int64_t restore_for(const std::vector<int32_t>& ids);

  Session& session_;
  const tokenizer::ModelTokenizer& tokenizer_;
  Generator generator_;
  ChatOptions options_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  std::vector<ImageFeatures> images_;  // every image of messages_, in order
  std::deque<Saved> saved_;
};

}  // namespace tf
