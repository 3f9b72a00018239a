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
// EncodeRecord appending to *out, which keeps what it held; on error *out is unchanged.
Status AppendRecord(const Event& event, std::string* out);
// At most the bytes AppendRecord appends for `event`, the JSON of its params and outputs aside
// (known only once written): room to reserve ahead, so that a record is written in one
// allocation.
size_t RecordSizeHint(const Event& event);

// The event stored in `bytes`. kDataLoss naming what is wrong when they are not a valid record.
Result<Event> DecodeRecord(std::string_view bytes);

// As DecodeRecord, into *out, reusing its strings' capacity: recovery decodes a million records
// this way. *out is unspecified after an error.
Status DecodeRecordInto(std::string_view bytes, Event* out);

namespace internal {
// EncodeRecord through the generated protobuf serializer: the reference the wire encoder is
// checked against (tests). The same bytes for every event.
Status EncodeRecordViaProtobuf(const Event& event, std::string* out);
// The same decoding through the generated protobuf parser: the reference the wire decoder is
// checked against (tests, fuzzer). Whatever DecodeRecord accepts, this accepts too, with an
// equal Event. DecodeRecord is stricter: it refuses a known field with the wrong wire type, a
// group, a tag or length varint over 5 bytes, which protobuf would keep as unknown fields.
Result<Event> DecodeRecordViaProtobuf(std::string_view bytes);
}  // namespace internal

}  // namespace brfed::storage
