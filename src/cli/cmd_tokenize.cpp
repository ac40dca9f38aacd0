// `tightfit tokenize`: text to token ids exactly as Hugging Face would produce them, ids back to
// text, or a JSON-lines dataset to ids.
//   tightfit tokenize (--model DIR | --tokenizer FILE.json) [--json] TEXT
//   tightfit tokenize ... --jsonl FILE|-        one {"ids": [...]} line per {"text": ...} line
//   tightfit tokenize ... --decode 1,2,3        the text (--json: {"text": ...})
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/model_flag.h"
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

Tokenizer load(const TokenizeOptions& o) {
  if (o.model_dir.empty() == o.tokenizer_file.empty())
    throw UsageError("give exactly one of --model DIR or --tokenizer FILE.json");
  if (!o.tokenizer_file.empty()) {
    // A tokenizer.json the user named that cannot be read is bad input (exit 2); one inside a
    // model folder is a broken model (exit 1).
    try {
      return Tokenizer::from_file(o.tokenizer_file);
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      throw BadInputError(e.what());
    }
  }
  return tokenizer::ModelTokenizer::load(resolve_model_flag(o.model_dir).dir).tokenizer;
}

void tokenize_jsonl(const Tokenizer& tok, const std::string& path) {
  for_each_jsonl_line(path, [&](const std::string& line, size_t line_no) {
    const nlohmann::ordered_json j = parse_json(line, path + " line " + std::to_string(line_no));
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw BadInputError(path + " line " + std::to_string(line_no) + " has no string field \"text\"");
    const auto ids = tok.encode(j["text"].get_ref<const std::string&>());
    std::string out = "{\"ids\": [";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ", ";
      out += std::to_string(ids[i]);
    }
    out += "]}\n";
    write_stdout(out);
  });
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
    const std::vector<int32_t> ids = parse_token_ids(o.decode, "--decode", /*allow_empty=*/true);
    for (const int32_t id : ids)  // decode would drop it silently
      if (!tok.id_to_token(id))
        throw BadInputError("--decode: token id " + std::to_string(id) + " is not in the vocabulary");
    const std::string text = tok.decode(ids, o.skip_special);
    const std::string out = o.json ? python_json(nlohmann::ordered_json{{"text", text}}) + "\n" : text + "\n";
    write_stdout(out);
    return;
  }
  std::string text = o.text;
  if (text == "-") text = read_stdin();
  const auto ids = tok.encode(text);
  std::vector<std::string> tokens;
  for (TokenId id : ids) tokens.push_back(tok.id_to_token(id).value_or(""));
  if (o.json) {
    std::printf("%s\n", python_json(nlohmann::ordered_json{{"ids", ids}, {"tokens", tokens}}).c_str());
    return;
  }
  // One row per token: id, vocabulary string, and the text it stands for (JSON-quoted so
  // spaces, newlines and partial characters stay visible).
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId one[1] = {ids[i]};
    out += std::to_string(ids[i]) + "\t" + tokens[i] + "\t" + python_json(nlohmann::ordered_json(tok.decode(one))) + "\n";
  }
  out += std::to_string(ids.size()) + " tokens\n";
  write_stdout(out);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids to text), as Hugging Face does");
  cmd->add_option("--model,-m", opts->model_dir, kModelFlagHelp);
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
