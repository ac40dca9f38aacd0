#include "model/draft_vocabulary.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unordered_set>

#include "kernels/linear_internal.h"

namespace tf {

DraftVocabulary::DraftVocabulary(const Model& model, std::vector<int32_t> ids, int64_t keep)
    : ids_(std::move(ids)) {
  if (keep > 0 && keep < static_cast<int64_t>(ids_.size())) ids_.resize(keep);
  if (ids_.empty()) throw std::invalid_argument("draft vocabulary: the token list is empty");
  std::unordered_set<int32_t> seen;
  for (int32_t id : ids_) {
    if (id < 0 || id >= model.vocab_size())
      throw std::invalid_argument("draft vocabulary: token id " + std::to_string(id) +
                                  " is outside the model's vocabulary [0, " +
                                  std::to_string(model.vocab_size()) +
                                  "): the list was built for another model");
    if (!seen.insert(id).second)
      throw std::invalid_argument("draft vocabulary: token id " + std::to_string(id) +
                                  " is listed twice");
  }
  // Gather the head rows, keeping the head's format (dense or affine codes + scales + biases),
  // in MLX's row layout whatever the head's (copy_row and param_index read either).
  const WeightMatrix& full = model.weights().lm_head;
  WeightMatrix rows = full;
  rows.rows = size();
  rows.layout = WeightMatrix::Layout::Rows;
  const size_t row = full.row_bytes();
  std::vector<uint8_t> data(row * ids_.size());
  for (size_t j = 0; j < ids_.size(); ++j) full.copy_row(ids_[j], data.data() + j * row);
  rows.data = data.data();
  std::vector<uint8_t> scales, biases;
  if (full.quantized()) {
    const int64_t groups = full.groups_per_row();
    const size_t e = dtype_size(full.dtype);
    scales.resize(static_cast<size_t>(groups) * e * ids_.size());
    biases.resize(scales.size());
    for (size_t j = 0; j < ids_.size(); ++j)
      for (int64_t g = 0; g < groups; ++g) {
        const size_t from = static_cast<size_t>(full.param_index(ids_[j], g)) * e;
        const size_t to = (j * static_cast<size_t>(groups) + static_cast<size_t>(g)) * e;
        std::memcpy(scales.data() + to, full.scales + from, e);
        std::memcpy(biases.data() + to, full.biases + from, e);
      }
    rows.scales = scales.data();
    rows.biases = biases.data();
  }
  head_ = rows;
  // A head the model re-laid out for the Int8 tile kernel: the draft head too, where its row
  // count allows (model/interleaved_weights.h).
  if (full.layout != WeightMatrix::Layout::Rows && simd::q8_interleaved_fits(full.layout, rows)) {
    data_.resize(data.size());
    scales_.resize(scales.size());
    biases_.resize(biases.size());
    simd::q8_interleave(full.layout, rows, data_.data(), scales_.data(), biases_.data());
    head_.layout = full.layout;
  } else {
    data_ = std::move(data);
    scales_ = std::move(scales);
    biases_ = std::move(biases);
  }
  head_.data = data_.data();
  if (full.quantized()) {
    head_.scales = scales_.data();
    head_.biases = biases_.data();
  }
}

std::vector<int32_t> DraftVocabulary::read_ids(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the draft vocabulary list");
  std::vector<int32_t> ids;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos || line[begin] == '#') continue;
    const size_t end = line.find_last_not_of(" \t\r") + 1;
    const std::string text = line.substr(begin, end - begin);
    if (text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9)
      throw std::runtime_error(path + ":" + std::to_string(number) + ": '" + text +
                               "' is not a token id (one non-negative integer per line)");
    ids.push_back(static_cast<int32_t>(std::stol(text)));
  }
  if (ids.empty()) throw std::runtime_error(path + ": no token ids in the draft vocabulary list");
  return ids;
}

void DraftVocabulary::write_ids(const std::string& path, const std::vector<int32_t>& ids,
                                const std::string& comment) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(path + ": cannot write the draft vocabulary list");
  out << "# " << comment << "\n";
  for (int32_t id : ids) out << id << "\n";
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace tf
