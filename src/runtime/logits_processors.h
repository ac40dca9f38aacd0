// The steps that edit raw logits before any truncation or temperature: the finite check, the
// padding-row mask, logit bias and the three repetition penalties. Each is a plain function of
// (logits, recent tokens) so it can be tested on hand-made rows.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace tf {

// Throws std::runtime_error if any of the first `vocab_size` logits is NaN or +inf (the model
// produced invalid values: a silent argmax over NaN would pick an arbitrary token), if every one
// is -inf, or if the row is shorter than vocab_size. Rows may be longer: ids >= vocab_size are
// padding rows of the head (spec §3.8) and are never looked at.
void check_logits(std::span<const float> logits, int32_t vocab_size);

// logits[id] += bias. Ids outside the row are an error (std::invalid_argument naming the id).
void apply_logit_bias(std::span<float> logits,
                      std::span<const std::pair<int32_t, float>> bias);

// The last `window` tokens of history (all of it when window is 0 or longer than history).
std::span<const int32_t> recent_tokens(std::span<const int32_t> history, int window);

// CTRL repetition penalty (Keskar et al. 2019, as in transformers and mlx-lm): every distinct
// token in `recent` gets logit/penalty if the logit is positive, logit*penalty otherwise, so a
// penalty > 1 always makes a seen token less likely. Ids outside the row are ignored.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> recent,
                              float penalty);

// OpenAI-style additive penalties: logit -= presence * [count > 0] + frequency * count, where
// count is how often the token occurs in `recent`. Ids outside the row are ignored.
void apply_presence_frequency_penalty(std::span<float> logits, std::span<const int32_t> recent,
                                      float presence, float frequency);

}  // namespace tf
