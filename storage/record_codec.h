// Record codec: one brfed::Event <-> the bytes of its journal record (storage/journal.proto).
//
//   std::string bytes;
//   RETURN_IF_ERROR(EncodeRecord(event, &bytes));
//   ASSIGN_OR_RETURN(Event back, DecodeRecord(bytes));   // back == event
//
// Decoding accepts arbitrary bytes: anything that is not a valid record is kDataLoss, never a
// crash (tests/fuzz/record_decoder_fuzz.cc). Everything EncodeRecord accepts decodes back to an
// equal Event, so the journal never stores a record it cannot read back.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "brfed/journal.h"
#include "brfed/status.h"

namespace brfed::storage {

// Values (params, outputs) nested deeper than this are refused: the JSON parser that reads
// them back has a depth limit of its own.
inline constexpr int kMaxValueNesting = 200;

// Replaces *out with the record bytes of `event`. kInvalidArgument (nothing journaled) when the
// event cannot be stored faithfully: an unknown type or status code, seq 0, a kRunFinished whose
// final_state is not a finished state, a NaN or infinite double (JSON has none), or a value
// nested deeper than kMaxValueNesting.
Status EncodeRecord(const Event& event, std::string* out);

// The event stored in `bytes`. kDataLoss naming what is wrong when they are not a valid record.
Result<Event> DecodeRecord(std::string_view bytes);

class Record;  // storage/journal.pb.h

// Decodes many records with one reusable protobuf message: what recovery uses, so reading a
// million records does not build and destroy a million messages. Not thread-safe.
class RecordDecoder {
 public:
  RecordDecoder();
  ~RecordDecoder();
  RecordDecoder(const RecordDecoder&) = delete;
  RecordDecoder& operator=(const RecordDecoder&) = delete;

  // As DecodeRecord, into *out. *out is unspecified after an error.
  Status Decode(std::string_view bytes, Event* out);

 private:
  std::unique_ptr<Record> scratch_;
};

}  // namespace brfed::storage
