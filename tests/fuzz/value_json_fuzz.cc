// Fuzzes Value::FromJson: any bytes parse or fail cleanly, and whatever parses writes back as
// JSON that parses to the same Value and the same text (ToJson is a fixed point).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "brfed/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  brfed::Result<brfed::Value> v = brfed::Value::FromJson(text);
  if (!v.ok()) {
    if (v.status().code() != brfed::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  std::string json = v->ToJson();
  brfed::Result<brfed::Value> back = brfed::Value::FromJson(json);
  if (!back.ok()) __builtin_trap();
  if (!(*back == *v)) __builtin_trap();
  if (back->ToJson() != json) __builtin_trap();
  return 0;
}
