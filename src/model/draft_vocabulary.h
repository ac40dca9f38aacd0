// A reduced draft vocabulary (FR-Spec, Zhao et al. 2025, arXiv:2502.14856): the MTP head's
// logits are computed only over the N most frequent tokens, so a draft step reads N rows of
// the output head instead of all of them (at 35B-A3B the 248,320-row head costs about as much
// as 6 of the 40 layers, docs/model.md §10.5). Verification still scores the full vocabulary,
// so the output is unchanged; only acceptance can drop (a token outside the list is never
// drafted).
//
// The list lives beside the model as a text file (kFileName): token ids, most frequent first,
// one per line; blank lines and lines starting with '#' are ignored. `tightfit draft-vocab`
// builds it from a corpus (runtime/draft_vocabulary_builder.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/weight_matrix.h"
#include "model/model.h"

namespace tf {

class DraftVocabulary {
 public:
  static constexpr const char* kFileName = "draft_vocab.txt";

  // The first `size` ids (0: all) of `ids`, with the model's head rows for them gathered into
  // a matrix of the head's format. Throws std::invalid_argument on an id outside the
  // vocabulary, a repeated id, or an empty list.
  DraftVocabulary(const Model& model, std::vector<int32_t> ids, int64_t size = 0);

  // Reads a list file (format above). Throws std::runtime_error naming the file and line.
  static std::vector<int32_t> read_ids(const std::string& path);
  // Writes one (with a comment line saying what it is).
  static void write_ids(const std::string& path, const std::vector<int32_t>& ids,
                        const std::string& comment);

  int64_t size() const { return static_cast<int64_t>(ids_.size()); }
  const std::vector<int32_t>& ids() const { return ids_; }
  // [size][hidden]: row j is the output head's row ids()[j].
  const WeightMatrix& head() const { return head_; }

 private:
  std::vector<int32_t> ids_;
  std::vector<uint8_t> data_, scales_, biases_;
  WeightMatrix head_;
};

}  // namespace tf
