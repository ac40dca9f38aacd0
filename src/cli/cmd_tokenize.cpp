// `tightfit tokenize`: text to token ids exactly as Hugging Face would produce them, ids back to
// text, or a JSON-lines dataset to ids.
//   tightfit tokenize (--model DIR | --tokenizer FILE.json) [--json] TEXT
//   tightfit tokenize ... --jsonl FILE|-        one {"ids": [...]} line per {"text": ...} line
//   tightfit tokenize ... --decode 1,2,3        the text (--json: {"text": ...})
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::cli {
namespace {

using tokenizer::TokenId;
using tokenizer::Tokenizer;

struct TokenizeOptions {
  std::string model_dir;
  std::string tokenizer_file;
  std::string text;
  bool text_given = false;
  bool json = false;
  std::string jsonl;
  std::string decode;
  bool skip_special = false;
};

// One-line JSON with Python's spacing (", " and ": "), non-ASCII text left as is.
std::string dump(const nlohmann::ordered_json& j) {
  return jinja::to_python_json(jinja::value_from_json(j), {});
}

Tokenizer load(const TokenizeOptions& o) {
  if (o.model_dir.empty() == o.tokenizer_file.empty())
    throw UsageError("give exactly one of --model DIR or --tokenizer FILE.json");
  if (!o.tokenizer_file.empty()) return Tokenizer::from_file(o.tokenizer_file);
  return tokenizer::ModelTokenizer::load(o.model_dir).tokenizer;
}

// "1,2, 3" -> ids; anything else is a usage error naming the bad item.
std::vector<TokenId> parse_ids(const std::string& text) {
  std::vector<TokenId> ids;
  if (text.find_first_not_of(" \t") == std::string::npos) return ids;  // empty list
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || v > INT32_MAX)
      throw UsageError("--decode: '" + item + "' is not a token id (expected e.g. 1,2,3)");
    ids.push_back(static_cast<TokenId>(v));
    pos = comma + 1;
  }
  return ids;
}

void tokenize_jsonl(const Tokenizer& tok, const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot read " + path);
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw std::runtime_error(path + " line " + std::to_string(line_no) + " is not valid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw std::runtime_error(path + " line " + std::to_string(line_no) + " has no string field \"text\"");
    const auto ids = tok.encode(j["text"].get_ref<const std::string&>());
    std::string out = "{\"ids\": [";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ", ";
      out += std::to_string(ids[i]);
    }
    out += "]}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
}

void run_tokenize(const TokenizeOptions& o) {
  const int modes = o.text_given + !o.jsonl.empty() + !o.decode.empty();
  if (modes != 1) throw UsageError("give exactly one of TEXT, --jsonl FILE or --decode IDS");
  const Tokenizer tok = load(o);
  if (!o.jsonl.empty()) {
    tokenize_jsonl(tok, o.jsonl);
    return;
  }
  if (!o.decode.empty()) {
    const std::string text = tok.decode(parse_ids(o.decode), o.skip_special);
    const std::string out = o.json ? dump(nlohmann::ordered_json{{"text", text}}) + "\n" : text + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return;
  }
  std::string text = o.text;
  if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
  const auto ids = tok.encode(text);
  std::vector<std::string> tokens;
  for (TokenId id : ids) tokens.push_back(tok.id_to_token(id).value_or(""));
  if (o.json) {
    std::printf("%s\n", dump(nlohmann::ordered_json{{"ids", ids}, {"tokens", tokens}}).c_str());
    return;
  }
  // One row per token: id, vocabulary string, and the text it stands for (JSON-quoted so
  // spaces, newlines and partial characters stay visible).
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId one[1] = {ids[i]};
    out += std::to_string(ids[i]) + "\t" + tokens[i] + "\t" + dump(nlohmann::ordered_json(tok.decode(one))) + "\n";
  }
  out += std::to_string(ids.size()) + " tokens\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids to text), as Hugging Face does");
  cmd->add_option("--model", opts->model_dir, "Model folder with tokenizer.json");
  cmd->add_option("--tokenizer", opts->tokenizer_file, "A tokenizer.json file");
  cmd->add_flag("--json", opts->json, "Print one JSON object: {\"ids\": [...], \"tokens\": [...]}");
  cmd->add_option("--jsonl", opts->jsonl, "Tokenize a JSON-lines file ('-' = stdin) of {\"text\": ...}; writes {\"ids\": [...]} per line");
  cmd->add_option("--decode", opts->decode, "Decode comma-separated ids to text");
  cmd->add_flag("--skip-special-tokens", opts->skip_special, "With --decode: drop special tokens");
  cmd->add_option("text", opts->text, "Text to encode ('-' = stdin)");
  cmd->callback([opts, cmd] {
    opts->text_given = cmd->count("text") > 0;
    run_tokenize(*opts);
  });
}

}  // namespace tf::cli
