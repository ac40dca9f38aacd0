#include "tokenizer/tokenizer_json_reader.h"

#include <stdexcept>

#include "base/json_read.h"

namespace tf::tokenizer {
namespace {

using nlohmann::json;

class Handler : public nlohmann::json_sax<json> {
 public:
  explicit Handler(TokenizerJson& out) : out_(out) {}

  bool null() override { return value(json(nullptr), "null"); }
  bool boolean(bool b) override { return value(json(b), "a boolean"); }
  bool number_integer(number_integer_t v) override { return number(v, json(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    return number(v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v), json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v), "a float"); }
  bool binary(binary_t&) override { return value(json(), "binary"); }

  bool string(string_t& s) override {
    switch (mode_) {
      case Mode::kMerges: {
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          fail(merge_where() + ": \"" + s + "\" is not two tokens separated by one space");
        out_.tables.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
        return true;
      }
      case Mode::kMergePair:
        pair_.push_back(std::move(s));
        if (pair_.size() > 2) fail(merge_where() + ": expected \"a b\" or [\"a\", \"b\"]");
        return true;
      default:
        return value(json(std::move(s)), "a string");
    }
  }

  bool start_object(std::size_t) override {
    if (mode_ == Mode::kDom && at_model() && key_ == "vocab") {
      mode_ = Mode::kVocab;
      out_.has_vocab = true;
      out_.tables.vocab.clear();
      return true;
    }
    if (mode_ != Mode::kDom) fail(mode_ == Mode::kVocab ? "model.vocab: the id of token \"" + vocab_key_ + "\" is not a non-negative integer"
                                                        : merge_where() + ": expected \"a b\" or [\"a\", \"b\"]");
    push(json::object());
    return true;
  }

  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    containers_.pop_back();
    path_.pop_back();
    return true;
  }

  bool start_array(std::size_t) override {
    if (mode_ == Mode::kDom && at_model() && key_ == "merges") {
      mode_ = Mode::kMerges;
      out_.has_merges = true;
      out_.tables.merges.clear();
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kDom) fail(mode_ == Mode::kVocab ? "model.vocab: the id of token \"" + vocab_key_ + "\" is not a non-negative integer"
                                                        : merge_where() + ": expected \"a b\" or [\"a\", \"b\"]");
    push(json::array());
    return true;
  }

  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) fail(merge_where() + ": expected \"a b\" or [\"a\", \"b\"]");
      out_.tables.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kDom;
      return true;
    }
    containers_.pop_back();
    path_.pop_back();
    return true;
  }

  bool key(string_t& k) override {
    if (mode_ == Mode::kVocab) vocab_key_ = std::move(k);
    else key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw std::runtime_error(std::string("not valid JSON: ") + e.what());
  }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };

  [[noreturn]] static void fail(const std::string& message) { throw std::runtime_error(message); }
  std::string merge_where() const { return "model.merges[" + std::to_string(out_.tables.merges.size()) + "]"; }
  bool at_model() const { return containers_.size() == 2 && path_[1] == "model" && containers_.back()->is_object(); }

  bool number(int64_t id, json v) {
    if (mode_ == Mode::kVocab) {
      if (id < 0 || id > INT32_MAX) fail("model.vocab: the id of token \"" + vocab_key_ + "\" is not a non-negative integer");
      out_.tables.vocab.emplace_back(std::move(vocab_key_), id);
      return true;
    }
    return value(std::move(v), "a number");
  }

  bool value(json v, const char* what) {
    if (mode_ == Mode::kVocab) fail("model.vocab: the id of token \"" + vocab_key_ + "\" is not a non-negative integer");
    if (mode_ != Mode::kDom) fail(merge_where() + ": expected \"a b\" or [\"a\", \"b\"], found " + what);
    insert(std::move(v));
    return true;
  }

  json* insert(json v) {
    if (containers_.empty()) {
      out_.rest = std::move(v);
      return &out_.rest;
    }
    json& top = *containers_.back();
    if (top.is_object()) return &(top[key_] = std::move(v));
    top.push_back(std::move(v));
    return &top.back();
  }

  void push(json container) {
    const std::string name = containers_.empty() ? "" : containers_.back()->is_object() ? key_ : "[]";
    containers_.push_back(insert(std::move(container)));
    path_.push_back(name);
  }

  TokenizerJson& out_;
  Mode mode_ = Mode::kDom;
  std::vector<json*> containers_;
  std::vector<std::string> path_;
  std::string key_, vocab_key_;
  std::vector<std::string> pair_;
};

}  // namespace

TokenizerJson read_tokenizer_json(std::string_view text, const std::string& source) {
  TokenizerJson out;
  Handler handler(out);
  check_json_nesting(text, source);
  try {
    json::sax_parse(text.begin(), text.end(), &handler);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.rfind("not valid JSON", 0) == 0) throw std::runtime_error(source + " is " + what);
    throw std::runtime_error(source + ": " + what);
  }
  return out;
}

}  // namespace tf::tokenizer
