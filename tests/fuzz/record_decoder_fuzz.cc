// Fuzz target: decoding arbitrary bytes as a journal record never crashes; whatever the wire
// decoder accepts, the generated protobuf parser accepts with an equal Event; and it re-encodes
// to bytes that decode to the same Event (the journal never stores a record it cannot read).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  brfed::Result<brfed::Event> event = brfed::storage::DecodeRecord(bytes);
  if (!event.ok()) {
    if (event.status().code() != brfed::StatusCode::kDataLoss) {
      std::fprintf(stderr, "decode failed with %s, want DATA_LOSS\n",
                   event.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  brfed::Result<brfed::Event> reference = brfed::storage::internal::DecodeRecordViaProtobuf(bytes);
  if (!reference.ok() || !(*reference == *event)) {
    std::fprintf(stderr, "the protobuf parser disagrees: %s\n",
                 reference.status().ToString().c_str());
    std::abort();
  }
  std::string again;
  brfed::Status s = brfed::storage::EncodeRecord(*event, &again);
  // A decoded value may be nested deeper than the encoder accepts (the JSON parser allows a
  // little more): a refusal is fine, a refusal of anything else is not.
  if (!s.ok()) {
    if (s.message().find("nested deeper") == std::string::npos) {
      std::fprintf(stderr, "re-encode failed: %s\n", s.ToString().c_str());
      std::abort();
    }
    return 0;
  }
  brfed::Result<brfed::Event> back = brfed::storage::DecodeRecord(again);
  if (!back.ok() || !(*back == *event)) {
    std::fprintf(stderr, "round trip changed the event: %s\n", back.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
