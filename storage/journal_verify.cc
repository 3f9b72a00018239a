// Verify: one pass over every key of the journal, reporting each kind of damage it can name.
#include <leveldb/iterator.h>

#include <optional>
#include <set>

#include "storage/journal_impl.h"
#include "storage/keys.h"
#include "storage/leveldb_util.h"
#include "storage/record_codec.h"

namespace brfed::storage {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

using Problems = std::vector<Journal::Problem>;

// The state of one run while its records go by.
struct RunCheck {
  std::string run_id;
  uint64_t last_seq = 0;
  uint64_t finished_seq = 0;  // seq of its RunFinished; 0 when none seen
  bool first_seen = false;
};

class Verifier {
 public:
  explicit Verifier(Problems* problems) : problems_(problems) {}

  void Add(std::string run, uint64_t seq, std::string what) {
    problems_->push_back({std::move(run), seq, std::move(what)});
  }

  // Keys before r/: indexes, definitions and metadata.
  void IndexKey(std::string_view key, std::string_view value) {
    if (HasPrefix(key, kActivePrefix)) {
      active_.emplace(key.substr(kActivePrefix.size()));
    } else if (HasPrefix(key, kDefinitionPrefix)) {
      definitions_.emplace(key.substr(kDefinitionPrefix.size()));
    } else if (HasPrefix(key, kFinishedPrefix)) {
      std::string run(key.substr(kFinishedPrefix.size()));
      uint64_t ms = 0;
      if (!GetBigEndian64(value, &ms)) {
        Add(run, 0, "finish time f/ holds " + std::to_string(value.size()) + " bytes, want 8");
      }
      finished_.emplace(std::move(run));
    } else if (key == kFormatKey) {
      format_seen_ = true;
      if (value != std::to_string(kFormatVersion)) {
        Add("", 0,
            "m/format holds \"" + PrintableKey(value) + "\", want \"" +
                std::to_string(kFormatVersion) + "\"");
      }
    } else if (key == kEpochKey) {
      uint64_t epoch = 0;
      if (!GetBigEndian64(value, &epoch)) {
        Add("", 0, "m/epoch holds " + std::to_string(value.size()) + " bytes, want 8");
      }
    } else {
      Add("", 0, "unknown key \"" + PrintableKey(key) + "\"");
    }
  }

  void RecordKey(std::string_view key, std::string_view value) {
    std::string_view run;
    uint64_t seq = 0;
    if (!ParseRecordKey(key, &run, &seq)) {
      Add("", 0, "malformed record key \"" + PrintableKey(key) + "\"");
      return;
    }
    if (!run_ || run_->run_id != run) {
      EndRun();
      run_ = RunCheck{std::string(run)};
    }
    RunCheck& rc = *run_;
    if (seq != rc.last_seq + 1) {
      if (seq <= rc.last_seq) {
        Add(rc.run_id, seq, "out of order");  // cannot happen with sorted keys; reported if so
      } else {
        Add(rc.run_id, rc.last_seq + 1,
            seq == rc.last_seq + 2 ? "missing" : "missing, through seq " + std::to_string(seq - 1));
      }
    }
    rc.last_seq = seq;
    if (rc.finished_seq != 0) {
      Add(rc.run_id, seq, "record after the RunFinished of seq " + std::to_string(rc.finished_seq));
    }
    Status s = DecodeRecordInto(value, &event_);
    if (!s.ok()) {
      Add(rc.run_id, seq, "undecodable: " + s.message());
      return;
    }
    if (event_.seq != seq) {
      Add(rc.run_id, seq, "the record says seq " + std::to_string(event_.seq));
    }
    if (seq == 1 && event_.type != EventType::kRunStarted) {
      Add(rc.run_id, seq, "the first record is not RunStarted");
    }
    if (seq != 1 && event_.type == EventType::kRunStarted) {
      Add(rc.run_id, seq, "RunStarted after the first record");
    }
    if (event_.type == EventType::kRunStarted &&
        definitions_.count(event_.start.get().definition_hash) == 0) {
      Add(rc.run_id, seq,
          "definition " + PrintableKey(event_.start.get().definition_hash) + " is missing");
    }
    if (event_.type == EventType::kRunFinished && rc.finished_seq == 0) rc.finished_seq = seq;
  }

  // Cross-checks the run just read against the indexes.
  void EndRun() {
    if (!run_) return;
    const RunCheck& rc = *run_;
    seen_.insert(rc.run_id);
    bool active = active_.count(rc.run_id) != 0;
    bool finished_index = finished_.count(rc.run_id) != 0;
    if (rc.finished_seq != 0) {
      // a/ may stay or not: format 2 keeps it, format 1 deleted it.
      if (!finished_index) Add(rc.run_id, 0, "finished, but has no finish time (f/)");
    } else {
      if (!active) Add(rc.run_id, 0, "unfinished, but missing from the active index");
      if (finished_index) Add(rc.run_id, 0, "unfinished, but has a finish time (f/)");
    }
    run_.reset();
  }

  void Finish(bool scanned_everything) {
    EndRun();
    if (!scanned_everything) return;  // the index checks below would blame the damage
    if (!format_seen_) Add("", 0, "m/format is missing");
    for (const std::string& run : active_) {
      if (seen_.count(run) == 0) Add(run, 0, "in the active index, but has no records");
    }
    for (const std::string& run : finished_) {
      if (seen_.count(run) == 0) Add(run, 0, "has a finish time (f/), but no records");
    }
  }

 private:
  Problems* problems_;
  std::set<std::string, std::less<>> active_, finished_, definitions_, seen_;
  bool format_seen_ = false;
  std::optional<RunCheck> run_;
  Event event_;
};

}  // namespace

Result<std::vector<Journal::Problem>> JournalImpl::Verify() {
  Result<Problems> result{Problems()};
  Verifier v(&result.value());
  leveldb::ReadOptions r = ReadOpts();
  r.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(r));
  std::string last_key;
  // Keys sort as a/ < d/ < f/ < m/ < r/: every index is read before the records it describes.
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    std::string_view value = ToView(it->value());
    if (HasPrefix(key, kRecordPrefix)) {
      v.RecordKey(key, value);
    } else {
      v.IndexKey(key, value);
    }
    last_key.assign(key);
  }
  bool complete = it->status().ok();
  if (!complete) {
    // LevelDB stops at damage it cannot read past: report it with the last key read, then the
    // checks that do not depend on having seen everything.
    v.Add(
        "", 0,
        "storage damaged after key \"" + PrintableKey(last_key) + "\": " + it->status().ToString());
  }
  v.Finish(complete);
  return result;
}

}  // namespace brfed::storage
