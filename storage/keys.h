// The journal's key layout (journal_format.md has the prose):
//
//   m/format                    -> format version, decimal text ("2")
//   m/epoch                     -> leader epoch, 8 bytes big-endian
//   a/<run-id>                  -> "" : the run was started (kept until the run is deleted)
//   d/<hash>                    -> definition text
//   f/<run-id>                  -> finish time, 8 bytes big-endian Unix milliseconds
//   r/<run-id>/<seq, 8 bytes BE> -> Record (journal.proto)
//
// The active (unfinished) runs are those with a/ and without f/. Format 1 deleted a/ when a
// run finished; a format-1 journal reads the same under that rule.
//
// Run ids are 1..kMaxRunIdBytes bytes without '/', so the records of one run are contiguous
// under the prefix r/<run-id>/ and in seq order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "brfed/status.h"

namespace brfed::storage {

inline constexpr std::string_view kFormatKey = "m/format";
inline constexpr std::string_view kEpochKey = "m/epoch";
inline constexpr std::string_view kActivePrefix = "a/";
inline constexpr std::string_view kDefinitionPrefix = "d/";
inline constexpr std::string_view kFinishedPrefix = "f/";
inline constexpr std::string_view kMetaPrefix = "m/";
inline constexpr std::string_view kRecordPrefix = "r/";

// The format this binary writes and the newest it reads. It reads every older one (1).
inline constexpr uint64_t kFormatVersion = 2;

inline constexpr size_t kMaxRunIdBytes = 253;
inline constexpr size_t kSeqBytes = 8;

// kInvalidArgument unless `run_id` is a valid run id (non-empty, at most kMaxRunIdBytes, no '/').
Status ValidateRunId(std::string_view run_id);

// r/<run-id>/<seq>. REQUIRES: ValidateRunId(run_id).ok().
std::string RecordKey(std::string_view run_id, uint64_t seq);
// Appends RecordKey(run_id, seq) to *out.
void AppendRecordKey(std::string_view run_id, uint64_t seq, std::string* out);
// r/<run-id>/ : every record key of the run starts with it.
std::string RunPrefix(std::string_view run_id);
// Appends RunPrefix(run_id) to *out.
void AppendRunPrefix(std::string_view run_id, std::string* out);
// The smallest key after every key that starts with `prefix` ("" when there is none).
std::string PrefixEnd(std::string_view prefix);

std::string ActiveKey(std::string_view run_id);
std::string FinishedKey(std::string_view run_id);
std::string DefinitionKey(std::string_view hash);

// Splits a key under r/ into its run id and seq. False when the key is not a well-formed record
// key (wrong prefix, bad run id, seq of the wrong length).
bool ParseRecordKey(std::string_view key, std::string_view* run_id, uint64_t* seq);

// Fixed-width big-endian integers, as used by the seq in keys, m/epoch and f/ values.
void PutBigEndian64(uint64_t v, std::string* out);
// False unless `in` is exactly 8 bytes.
bool GetBigEndian64(std::string_view in, uint64_t* v);

// A printable form of a key for messages: printable ASCII as is, other bytes as \xNN.
std::string PrintableKey(std::string_view key);

}  // namespace brfed::storage
