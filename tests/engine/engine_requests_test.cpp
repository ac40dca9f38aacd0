// The request life cycle through the public API: validation before queueing, Busy, cancel from
// another thread, a handle dropped early, one failing request among others, shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "engine_test_util.h"

namespace tightfit {
namespace {

using test::greedy_request;
using test::tiny_engine;

// The `param` of the InvalidRequest that submit throws, or "(accepted)".
std::string refused_param(Engine& engine, const Request& request) {
  try {
    RequestHandle h = engine.submit(request);
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()), "");
    return e.param;
  }
  return "(accepted)";
}

TEST(EngineRequests, InvalidRequestsAreRefusedBeforeQueueingNamingTheField) {
  auto engine = tiny_engine({.context = 64});
  Request empty;
  EXPECT_EQ(refused_param(*engine, empty), "messages");

  Request two = greedy_request("hi", 4);
  two.prompt_tokens = {1, 2};
  EXPECT_EQ(refused_param(*engine, two), "prompt");

  Request role = test::chat_request({Message::text("wizard", "hi")}, 4);
  EXPECT_EQ(refused_param(*engine, role), "messages[0].role");

  Request long_prompt = greedy_request(std::string(200, 'a') + " b c d e f g h", 4);
  long_prompt.prompt = "";
  long_prompt.prompt_tokens.assign(64, 72);
  EXPECT_EQ(refused_param(*engine, long_prompt), "prompt_tokens");
  try {
    engine->submit(long_prompt);
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find("64"), std::string::npos) << e.what();
  }

  Request bad_token = greedy_request("", 4);
  bad_token.prompt.clear();
  bad_token.prompt_tokens = {1, 100000};
  EXPECT_EQ(refused_param(*engine, bad_token), "prompt_tokens");

  Request image = test::chat_request({Message::text("user", "what is this?")}, 4);
  image.messages[0].content.push_back(
      {ContentPart::Kind::image, "", Image::from_encoded({0x89, 'P', 'N', 'G', 0, 1, 2})});
  EXPECT_EQ(refused_param(*engine, image).find("messages[0].content[1].image"), 0u);

  Request temp = greedy_request("hi", 4);
  temp.sampling.temperature = -1;
  EXPECT_EQ(refused_param(*engine, temp), "sampling");
  Request top_p = greedy_request("hi", 4);
  top_p.sampling.top_p = 1.5f;
  EXPECT_EQ(refused_param(*engine, top_p), "sampling");
  Request bias = greedy_request("hi", 4);
  bias.sampling.logit_bias.push_back({5000, 1.0f});
  EXPECT_EQ(refused_param(*engine, bias), "sampling.logit_bias");
  Request max_tokens = greedy_request("hi", 0);
  EXPECT_EQ(refused_param(*engine, max_tokens), "max_tokens");
  Request stop = greedy_request("hi", 4);
  stop.stop = {""};
  EXPECT_EQ(refused_param(*engine, stop), "stop");
  Request logprobs = greedy_request("hi", 4);
  logprobs.logprobs = 1000;
  EXPECT_EQ(refused_param(*engine, logprobs), "logprobs");

  Request tools = test::chat_request({Message::text("user", "hi")}, 4);
  tools.tools = "[{\"type\": \"function\",";
  EXPECT_EQ(refused_param(*engine, tools), "tools");
  tools.tools = "{\"type\": \"function\"}";
  EXPECT_EQ(refused_param(*engine, tools), "tools");
  Request kwargs = test::chat_request({Message::text("user", "hi")}, 4);
  kwargs.template_kwargs = "[1]";
  EXPECT_EQ(refused_param(*engine, kwargs), "template_kwargs");
  Request args = test::chat_request({Message::text("user", "hi")}, 4);
  Message call = Message::text("assistant", "");
  call.tool_calls.push_back({"call_1", "get_weather", "{not json"});
  args.messages.push_back(call);
  args.messages.push_back(Message::text("user", "and?"));
  EXPECT_EQ(refused_param(*engine, args), "messages[1].tool_calls[0].arguments");
  Request raw_tools = greedy_request("hi", 4);
  raw_tools.tools = "[]";
  EXPECT_EQ(refused_param(*engine, raw_tools), "tools");

  EXPECT_EQ(engine->stats().requests_total, 0);  // nothing was queued
  EXPECT_EQ(refused_param(*engine, greedy_request("hi", 2)), "(accepted)");
}

TEST(EngineRequests, DeeplyNestedJsonFieldsAreRefusedNamingTheField) {
  // A million levels would overflow the stack in the template's value conversion; base/json_read
  // refuses anything past 128 before parsing (issue 20).
  auto engine = tiny_engine({.context = 64});
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Request tools = test::chat_request({Message::text("user", "hi")}, 4);
  tools.tools = deep;
  EXPECT_EQ(refused_param(*engine, tools), "tools");
  Request kwargs = test::chat_request({Message::text("user", "hi")}, 4);
  kwargs.template_kwargs = "{\"x\": " + deep + "}";
  EXPECT_EQ(refused_param(*engine, kwargs), "template_kwargs");
  Request args = test::chat_request({Message::text("user", "hi")}, 4);
  Message call = Message::text("assistant", "");
  call.tool_calls.push_back({"call_1", "get_weather", "{\"x\": " + deep + "}"});
  args.messages.push_back(call);
  args.messages.push_back(Message::text("user", "and?"));
  EXPECT_EQ(refused_param(*engine, args), "messages[1].tool_calls[0].arguments");
  try {
    engine->submit(tools);
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 128"), std::string::npos) << e.what();
  }
}

TEST(EngineRequests, ToolCallsAndToolMessagesReachTheTemplate) {
  auto engine = tiny_engine();
  Request r;
  r.messages.push_back(Message::text("user", "Weather in Paris?"));
  Message call = Message::text("assistant", "");
  call.tool_calls.push_back({"call_1", "get_weather", R"({"city": "Paris", "days": 2})"});
  r.messages.push_back(call);
  Message result = Message::text("tool", "sunny");
  result.tool_call_id = "call_1";
  r.messages.push_back(result);
  r.tools = R"([{"type": "function", "function": {"name": "get_weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])";
  const std::string text = engine->apply_chat_template(r);
  EXPECT_NE(text.find("<function=get_weather>\n<parameter=city>\nParis\n</parameter>"),
            std::string::npos) << text;
  EXPECT_NE(text.find("<parameter=days>\n2\n</parameter>"), std::string::npos);
  EXPECT_NE(text.find("<tool_response>\nsunny\n</tool_response>"), std::string::npos) << text;
  EXPECT_NE(text.find("\"name\": \"get_weather\""), std::string::npos);
  EXPECT_GT(text.rfind("<|im_start|>assistant\n"), text.find("<tool_response>"));
}

TEST(EngineRequests, BusyWhenParallelPlusQueueAreTaken) {
  auto engine = tiny_engine({.parallel = 1, .max_queue = 1});
  Request forever = greedy_request("Hello", 100000);
  forever.sampling.logit_bias.clear();
  forever.ignore_eos = true;
  RequestHandle running = engine->submit(forever);
  RequestHandle waiting = engine->submit(forever);
  EXPECT_THROW(engine->submit(greedy_request("Hello", 2)), Busy);
  EXPECT_EQ(engine->stats().requests_refused, 1);
  running.cancel();
  EXPECT_EQ(running.wait().stop, StopReason::cancelled);
  waiting.cancel();
  EXPECT_EQ(waiting.wait().stop, StopReason::cancelled);
  EXPECT_EQ(engine->generate(greedy_request("Hello", 2)).stop, StopReason::max_tokens);
}

TEST(EngineRequests, CancelFromAnotherThreadEndsWithCancelled) {
  auto engine = tiny_engine();
  Request forever = greedy_request("Hello", 100000);
  forever.ignore_eos = true;
  RequestHandle h = engine->submit(forever);
  std::optional<Event> first = h.next();  // it is generating
  ASSERT_TRUE(first.has_value());
  std::thread canceller([&] { h.cancel(); });
  const Result r = h.wait();
  canceller.join();
  EXPECT_EQ(r.stop, StopReason::cancelled);
  EXPECT_LT(r.usage.completion_tokens, 100000);
  EXPECT_GT(r.usage.completion_tokens, 0);
}

TEST(EngineRequests, DroppingAHandleCancelsItsRequest) {
  auto engine = tiny_engine({.parallel = 1});
  {
    Request forever = greedy_request("Hello", 100000);
    forever.ignore_eos = true;
    RequestHandle h = engine->submit(forever);
    ASSERT_TRUE(h.next().has_value());
  }
  // The slot is free again: this one runs (it would wait forever behind the first otherwise).
  EXPECT_EQ(engine->generate(greedy_request("Hello", 3)).usage.completion_tokens, 3);
}

TEST(EngineRequests, NextForTimesOutWithoutEnding) {
  auto engine = tiny_engine({.parallel = 1});
  Request forever = greedy_request("Hello", 100000);
  forever.ignore_eos = true;
  RequestHandle first = engine->submit(forever);
  RequestHandle second = engine->submit(greedy_request("Hello", 2));  // waits for the slot
  EXPECT_FALSE(second.next_for(std::chrono::milliseconds(20)).has_value());
  EXPECT_FALSE(second.finished());
  first.cancel();
  EXPECT_EQ(second.wait().usage.completion_tokens, 2);
}

TEST(EngineRequests, AFailingRequestEndsWithErrorAndTheOthersGoOn) {
  auto engine = tiny_engine({.parallel = 3});
  // Every token banned: the sampler has nothing to pick and throws, in the worker, for this
  // request only.
  Request bad = greedy_request("The quick brown fox", 20);
  for (int32_t id = 0; id < 512; ++id) bad.sampling.logit_bias.push_back({id, -INFINITY});
  RequestHandle a = engine->submit(greedy_request("Hello", 12));
  RequestHandle b = engine->submit(bad);
  RequestHandle c = engine->submit(greedy_request("Once upon a time", 12));
  const Result rb = b.wait();
  EXPECT_EQ(rb.stop, StopReason::error);
  EXPECT_FALSE(rb.error.empty());
  EXPECT_EQ(a.wait().usage.completion_tokens, 12);
  EXPECT_EQ(c.wait().usage.completion_tokens, 12);
  EXPECT_EQ(engine->generate(greedy_request("Hello", 2)).stop, StopReason::max_tokens);
}

TEST(EngineRequests, DestroyingTheEngineCancelsRunningAndQueuedRequests) {
  RequestHandle running, queued;
  {
    auto engine = tiny_engine({.parallel = 1});
    Request forever = greedy_request("Hello", 100000);
    forever.ignore_eos = true;
    running = engine->submit(forever);
    queued = engine->submit(forever);
    ASSERT_TRUE(running.next().has_value());
  }
  EXPECT_EQ(running.wait().stop, StopReason::cancelled);
  EXPECT_EQ(queued.wait().stop, StopReason::cancelled);
}

TEST(EngineLoad, MissingModelAndBadOptions) {
  EXPECT_THROW(Engine::load({.model = "/nonexistent/model-folder"}), ModelNotFound);
  EXPECT_THROW(Engine::load({.model = std::string(TIGHTFIT_TEST_DATA) + "/jinja"}), ModelNotFound);
  EngineOptions o{.model = test::tiny_random_dir()};
  o.kv_bits = 12;
  try {
    Engine::load(o);
    ADD_FAILURE() << "kv_bits 12 loaded";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param, "kv_bits");
  }
  o.kv_bits = 4;
  o.kv_group_size = 48;
  try {
    Engine::load(o);
    ADD_FAILURE() << "kv_group_size 48 loaded";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param, "kv_group_size");
  }
  o.kv_group_size = 64;
  o.kv_bits = 16;
  o.kv_type = "q5";
  EXPECT_THROW(Engine::load(o), InvalidRequest);
  o.kv_type.clear();
  o.parallel = 0;
  EXPECT_THROW(Engine::load(o), InvalidRequest);
}

TEST(EngineLoad, InfoDescribesTheModel) {
  auto engine = tiny_engine({.context = 1000, .kv_bits = 32, .activations = "f32"});
  const ModelInfo& info = engine->info();
  EXPECT_EQ(info.name, "tiny-random");
  EXPECT_EQ(info.vocab_size, 512);
  EXPECT_EQ(info.context_length, 1000);
  EXPECT_EQ(info.activations, "f32");
  EXPECT_GT(info.layers, 0);
  EXPECT_GT(info.weight_bytes, 0u);
  EXPECT_FALSE(info.eos_token_ids.empty());
  EXPECT_EQ(engine->token_text(test::kThink), "<think>");
  EXPECT_EQ(engine->decode(engine->encode("hello world")), "hello world");
  EXPECT_EQ(engine->generate(greedy_request("Hello", 3)).usage.completion_tokens, 3);
}

}  // namespace
}  // namespace tightfit

namespace tightfit {
namespace {

const std::string kVlModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random-vl";
const std::string kImg64 = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img64x64.png";

TEST(EngineImages, ImagesInMessagesAndRawPromptsCountTheirTokens) {
  auto engine = Engine::load({.model = kVlModel, .threads = 2});
  ASSERT_TRUE(engine->info().has_vision);
  Request raw = test::greedy_request("<|vision_start|><|image_pad|><|vision_end|>Hi", 2);
  raw.images = {Image::from_file(kImg64)};
  const Result r = engine->generate(raw);
  EXPECT_EQ(r.stop, StopReason::max_tokens) << r.error;
  EXPECT_EQ(r.usage.prompt_tokens, 1 + 4 + 1 + 2);  // a 64×64 image is 4 tokens
  EXPECT_EQ(r.usage.images, 1);

  Request chat = test::chat_request({Message::text("user", "Describe")}, 2);
  chat.messages[0].content.insert(chat.messages[0].content.begin(),
                                  {ContentPart::Kind::image, "", Image::from_file(kImg64)});
  const Result c = engine->generate(chat);
  EXPECT_EQ(c.stop, StopReason::max_tokens) << c.error;
  Request text_only = chat;
  text_only.messages[0].content.erase(text_only.messages[0].content.begin());
  EXPECT_EQ(c.usage.prompt_tokens, engine->generate(text_only).usage.prompt_tokens + 6);

  Request missing = test::greedy_request("Hi", 2);
  missing.images = {Image::from_file(kImg64)};
  EXPECT_EQ(refused_param(*engine, missing), "images");
  Request pixels = raw;
  pixels.images = {Image::from_rgb(2, 2, {1, 2, 3})};
  EXPECT_EQ(refused_param(*engine, pixels), "images[0]");
}

TEST(EngineImages, APromptCacheEntryHoldsItsImagesNotJustTheirPlaceholders) {
  auto engine = Engine::load({.model = kVlModel, .threads = 2});
  const std::string kImg96 = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img96x64.png";
  auto turn = [&](const std::string& image, bool second) {
    Request r = test::chat_request({Message::text("user", "Describe")}, 3);
    r.messages[0].content.insert(r.messages[0].content.begin(),
                                 {ContentPart::Kind::image, "", Image::from_file(image)});
    if (second) {
      r.messages.push_back(Message::text("assistant", "A picture."));
      r.messages.push_back(Message::text("user", "And now?"));
    }
    return r;
  };
  engine->generate(turn(kImg64, false));
  const Result cached = engine->generate(turn(kImg64, true));
  EXPECT_GT(cached.usage.cached_tokens, 6);  // past the image
  Request uncached = turn(kImg64, true);
  uncached.use_prompt_cache = false;
  EXPECT_EQ(engine->generate(uncached).tokens, cached.tokens);
  // Another image in the same place: only the text before it can come from the cache.
  const Result other = engine->generate(turn(kImg96, true));
  EXPECT_LT(other.usage.cached_tokens, 5);
}

TEST(EngineImages, OtherRequestsRunWhileAnImageGoesThroughTheTower) {
  // The tower runs a stage (patch embedding, one block, the merger) per scheduler step, beside
  // the other sequences' tokens: a short text request submitted with a many-image one finishes
  // while the images are still being encoded. Before, the whole tower ran first (seconds for a
  // real model's tower), and every other sequence waited.
  auto engine = Engine::load({.model = kVlModel, .threads = 2});
  Request images = test::greedy_request("Hi", 1);
  std::mt19937 rng(7);
  std::vector<uint8_t> pixels(512 * 512 * 3);
  for (auto& p : pixels) p = static_cast<uint8_t>(rng());
  for (int i = 0; i < 8; ++i) {  // 8 × (2 blocks + 2) stages, 256 tokens each
    images.prompt.insert(0, "<|vision_start|><|image_pad|><|vision_end|>");
    images.images.push_back(Image::from_rgb(512, 512, pixels));
  }
  RequestHandle with_images = engine->submit(images);
  const Result text = engine->generate(test::greedy_request("Hello", 3));
  EXPECT_EQ(text.stop, StopReason::max_tokens) << text.error;
  // The image request has not produced its token yet (its tower has ~25 stages left).
  EXPECT_FALSE(with_images.next_for(std::chrono::milliseconds(0)).has_value());
  const Result done = with_images.wait();
  EXPECT_EQ(done.stop, StopReason::max_tokens) << done.error;
  EXPECT_EQ(done.usage.images, 8);
  EXPECT_GT(done.timing.vision_seconds, 0.0);
}

TEST(EngineImages, ATextOnlyModelRefusesImages) {
  auto engine = tiny_engine();
  Request chat = test::chat_request({Message::text("user", "Describe")}, 2);
  chat.messages[0].content.push_back({ContentPart::Kind::image, "", Image::from_file(kImg64)});
  try {
    engine->submit(chat);
    ADD_FAILURE() << "accepted an image";
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find("text-only model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tightfit
