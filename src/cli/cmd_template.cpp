// `tightfit template`: the exact prompt a conversation becomes under the model's chat template.
//   tightfit template --model DIR --messages FILE.json [--tools FILE.json] [--kwargs JSON]
//                     [--no-thinking] [--chat-template FILE.jinja]
//   tightfit template --model DIR --jsonl FILE|-   one {"rendered": ...} or {"error": ...} line
//                     per {"messages": [...], "tools": [...]|null, "kwargs": {...}} line
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/model_flag.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::cli {
namespace {

using nlohmann::ordered_json;
using tokenizer::ChatRequest;
using tokenizer::ChatTemplate;
using tokenizer::TokenizerConfig;

struct TemplateOptions {
  std::string model_dir;
  std::string messages;
  std::string tools;
  std::string kwargs;
  std::string jsonl;
  std::string chat_template;
  bool no_thinking = false;
  bool no_generation_prompt = false;
};

// Flags that apply to every conversation; a conversation's own kwargs override them.
ordered_json default_kwargs(const TemplateOptions& o) {
  ordered_json kwargs = ordered_json::object();
  if (o.no_generation_prompt) kwargs["add_generation_prompt"] = false;
  if (o.no_thinking) kwargs["enable_thinking"] = false;
  if (!o.kwargs.empty()) {
    const ordered_json extra = parse_json(o.kwargs, "--kwargs");
    if (!extra.is_object()) throw UsageError("--kwargs must be a JSON object, e.g. '{\"enable_thinking\": false}'");
    for (auto it = extra.begin(); it != extra.end(); ++it) kwargs[it.key()] = it.value();
  }
  return kwargs;
}

ChatRequest with_defaults(ChatRequest request, const ordered_json& defaults) {
  ordered_json merged = defaults;
  for (auto it = request.extra_kwargs.begin(); it != request.extra_kwargs.end(); ++it) merged[it.key()] = it.value();
  request.extra_kwargs = std::move(merged);
  return request;
}

void render_jsonl(const ChatTemplate& tmpl, const TokenizerConfig* config, const TemplateOptions& o) {
  const ordered_json defaults = default_kwargs(o);
  for_each_jsonl_line(o.jsonl, [&](const std::string& line, size_t) {
    ordered_json result;
    try {
      const ChatRequest request = with_defaults(ChatRequest::from_json(parse_json(line, "--jsonl line")), defaults);
      result["rendered"] = tmpl.render(request, config);
    } catch (const std::exception& e) {  // the template's own message for raise_exception
      result = ordered_json::object();
      result["error"] = e.what();
    }
    write_stdout(python_json(result) + "\n");
  });
}

void run_template(const TemplateOptions& o) {
  if (o.model_dir.empty() && o.chat_template.empty())
    throw UsageError("give --model DIR|ORG/NAME (or --chat-template FILE.jinja)");
  if (o.messages.empty() == o.jsonl.empty()) throw UsageError("give exactly one of --messages FILE.json or --jsonl FILE");
  if (!o.jsonl.empty() && !o.tools.empty()) throw UsageError("--tools applies to --messages; with --jsonl each line carries its tools");

  std::optional<TokenizerConfig> config;
  if (!o.model_dir.empty()) config = tokenizer::load_tokenizer_config(resolve_model_flag(o.model_dir).dir);
  std::string source, name;
  if (!o.chat_template.empty()) {
    source = tokenizer::read_text_file(o.chat_template);
    name = o.chat_template;
    // A template file the user named that does not parse is bad input (exit 2), not a broken
    // model: compile it now so the error says so before anything is rendered.
    try {
      ChatTemplate check(source, name);
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      throw BadInputError(e.what());
    }
  }

  if (!o.jsonl.empty()) {
    if (source.empty()) {
      source = config->select_chat_template(false);
      name = config->chat_template_origin;
    }
    render_jsonl(ChatTemplate(source, name), config ? &*config : nullptr, o);
    return;
  }

  const ordered_json messages = parse_json(read_input(o.messages), o.messages);
  ChatRequest request;
  if (messages.is_array()) request.messages = messages;
  else request = ChatRequest::from_json(messages);  // {"messages": [...], "tools": ..., "kwargs": ...}
  if (!o.tools.empty()) {
    request.tools = parse_json(read_input(o.tools), o.tools);
    if (!request.tools.is_array() && !request.tools.is_null()) throw BadInputError(o.tools + ": --tools must hold a JSON list of tool schemas");
  }
  request = with_defaults(std::move(request), default_kwargs(o));
  if (source.empty()) {
    source = config->select_chat_template(request.tools.is_array() && !request.tools.empty());
    name = config->chat_template_origin;
  }
  const std::string prompt = ChatTemplate(source, name).render(request, config ? &*config : nullptr);
  write_stdout(prompt);
}

}  // namespace

void add_template_command(CLI::App& app) {
  auto opts = std::make_shared<TemplateOptions>();
  auto* cmd = app.add_subcommand("template", "Render the chat template for a conversation, byte-exact");
  cmd->add_option("--model,-m", opts->model_dir, kModelFlagHelp);
  cmd->add_option("--messages", opts->messages, "JSON file ('-' = stdin): a list of messages, or {\"messages\": [...], \"tools\": ..., \"kwargs\": ...}");
  cmd->add_option("--tools", opts->tools, "JSON file with a list of tool schemas");
  cmd->add_option("--kwargs", opts->kwargs, "Extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
  cmd->add_flag("--no-thinking", opts->no_thinking, "Set enable_thinking=false");
  cmd->add_flag("--no-generation-prompt", opts->no_generation_prompt, "Set add_generation_prompt=false (default true)");
  cmd->add_option("--jsonl", opts->jsonl, "Render each JSON line ('-' = stdin); writes {\"rendered\": ...} or {\"error\": ...} per line");
  cmd->add_option("--chat-template", opts->chat_template, "Use this .jinja file instead of the model's template");
  cmd->callback([opts] { run_template(*opts); });
}

}  // namespace tf::cli
