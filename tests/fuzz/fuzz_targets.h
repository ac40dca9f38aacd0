// One function per parser that reads untrusted input (issue 20). Each takes arbitrary bytes and
// must return without crashing, hanging or exhausting memory; errors are exceptions, which the
// targets catch. They run two ways: as libFuzzer targets (fuzz_entry.cpp, built with
// -DTIGHTFIT_FUZZ=ON, clang) and over the regression corpus in tests/fuzz/corpus as an ordinary
// test (regression_corpus_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tf::fuzz {

void safetensors_header(const uint8_t* data, size_t size);  // a whole .safetensors file
void model_config(const uint8_t* data, size_t size);        // config.json + the HF shape plan
void tokenizer_json(const uint8_t* data, size_t size);      // tokenizer.json + encode / decode
void chat_template(const uint8_t* data, size_t size);       // template text, '\0', variables JSON
void recipe(const uint8_t* data, size_t size);              // recipe JSON + matching
void image(const uint8_t* data, size_t size);               // image file bytes
void server_request(const uint8_t* data, size_t size);      // API selector byte + request body
void tool_calls(const uint8_t* data, size_t size);          // model output for the tool-call parser

struct Target {
  const char* name;  // also the corpus folder's name
  void (*run)(const uint8_t*, size_t);
};
const std::vector<Target>& targets();

}  // namespace tf::fuzz
