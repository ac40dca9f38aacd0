// Prompts with images (spec §4.7–4.8), shared by `generate`, `chat` and the server:
//
//   rendered ids (one <|image_pad|> per image, as the chat template writes it)
//   → expand_image_tokens: each <|image_pad|> becomes the image's N merged tokens
//   → build_multimodal_prompt: text embeddings with the image features spliced in, in order,
//     3-D rotary positions, and the rope delta decode continues with.
//
// A prompt without images gives text positions (p, p, p) and delta 0: the same as plain
// Session::prefill.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/rope.h"
#include "model/vision_positions.h"
#include "runtime/image_preprocessor.h"

namespace tf {

// One encoded image: its patch grid and the vision tower's output [tokens][hidden].
struct ImageFeatures {
  ImageGrid grid;
  int64_t tokens = 0;
  std::vector<float> embeddings;
};

// Loads, preprocesses and encodes one image file with the model's vision tower. Throws
// std::runtime_error naming the file for unreadable images, std::invalid_argument for images
// the processor rejects (aspect ratio, size), std::logic_error when the model has no tower.
ImageFeatures encode_image_file(const Model& model, const ImagePreprocessorConfig& config,
                                const std::string& path);
ImageFeatures encode_image(const Model& model, const ImagePreprocessorConfig& config,
                           const RgbImage& image);

// encode_image a stage of the vision tower at a time (Model::run_stage), for a scheduler that
// interleaves an image's encoding with other sequences' decode steps. The constructor
// preprocesses the image and throws as encode_image does; the model must outlive it.
class ImageEncoding {
 public:
  ImageEncoding(const Model& model, const ImagePreprocessorConfig& config, const RgbImage& image);
  bool done() const { return tower_.done(); }
  void run_stage() { model_->run_stage(tower_); }
  // The features, once done().
  ImageFeatures take();

 private:
  ImageEncoding(const Model& model, ImagePatches patches);

  const Model* model_;
  ImageFeatures features_;  // grid and tokens; the embeddings come from the tower
  VisionEncoding tower_;
};

// The tokens `image` will take in the prompt: its smart-resized size in merged patches. Cheap
// (no resampling, no vision tower), so a prompt can be checked against the context before the
// expensive part. Throws std::invalid_argument like preprocess_image, std::logic_error when the
// model has no tower.
int64_t image_token_count(const Model& model, const ImagePreprocessorConfig& config,
                          const RgbImage& image);

// Throws std::invalid_argument when a prompt of `text_tokens` (each image's placeholder counted
// once) with images of these token counts leaves no room in the model's context to generate,
// naming each image's token count and what to do (a smaller --max-pixels). A 2200×2200 image
// once ran the vision tower for minutes before the prompt was found too long.
void check_image_prompt_fits(const Model& model, int64_t text_tokens,
                             std::span<const int64_t> image_tokens);

// Replaces the k-th `image_token` of `ids` by images[k]'s token count of copies. Throws
// std::invalid_argument when the number of image tokens differs from the number of images.
std::vector<int32_t> expand_image_tokens(std::span<const int32_t> ids, int32_t image_token,
                                         std::span<const ImageFeatures> images);

// 3-D positions of an expanded prompt (spec §4.8): text (P, P, P) then P += 1; each run of
// image tokens is the next image's grid in (t, row, col) order at (P + t, P + r, P + c), then
// P += max(t, H', W'). `next_position` receives the final P. Throws std::invalid_argument when a
// run of image tokens does not match the next image's token count, or images are left over.
std::vector<Position3> multimodal_positions(std::span<const int32_t> expanded_ids,
                                            int32_t image_token,
                                            std::span<const ImageGrid> merged_grids,
                                            int64_t* next_position = nullptr);

struct MultimodalPrompt {
  std::vector<int32_t> ids;          // expanded: N image tokens per image
  std::vector<float> embeddings;     // [ids.size()][hidden], image rows = the image features
  std::vector<Position3> positions;  // one per id
  // Added to a text token's cache index to get its position after this prompt (§4.8):
  // (max position + 1) − prompt length; 0 without images.
  int64_t rope_delta = 0;
};

// From the rendered prompt ids (one image token per image) and the encoded images, in order.
// Throws std::invalid_argument when the counts disagree or the model's config has no
// image_token_id.
MultimodalPrompt build_multimodal_prompt(const Model& model, std::span<const int32_t> ids,
                                         std::span<const ImageFeatures> images);

}  // namespace tf
