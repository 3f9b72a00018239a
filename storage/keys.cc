#include "storage/keys.h"

#include <bit>
#include <cstring>

namespace brfed::storage {

Status ValidateRunId(std::string_view run_id) {
  if (run_id.empty()) return InvalidArgumentError("empty run id");
  if (run_id.size() > kMaxRunIdBytes) {
    return InvalidArgumentError("run id longer than " + std::to_string(kMaxRunIdBytes) + " bytes");
  }
  if (run_id.find('/') != std::string_view::npos) {
    return InvalidArgumentError("run id \"" + PrintableKey(run_id) + "\" contains '/'");
  }
  return Status::OK();
}

namespace {

// Between host order and big-endian (the order that makes keys sort by number).
uint64_t ToFromBigEndian(uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}

}  // namespace

void PutBigEndian64(uint64_t v, std::string* out) {
  v = ToFromBigEndian(v);
  char buf[8];
  std::memcpy(buf, &v, sizeof(buf));
  out->append(buf, sizeof(buf));
}

bool GetBigEndian64(std::string_view in, uint64_t* v) {
  if (in.size() != 8) return false;
  uint64_t r = 0;
  std::memcpy(&r, in.data(), sizeof(r));
  *v = ToFromBigEndian(r);
  return true;
}

void AppendRunPrefix(std::string_view run_id, std::string* out) {
  out->append(kRecordPrefix);
  out->append(run_id);
  out->push_back('/');
}

void AppendRecordKey(std::string_view run_id, uint64_t seq, std::string* out) {
  AppendRunPrefix(run_id, out);
  PutBigEndian64(seq, out);
}

std::string RecordKey(std::string_view run_id, uint64_t seq) {
  std::string k;
  k.reserve(kRecordPrefix.size() + run_id.size() + 1 + kSeqBytes);
  AppendRecordKey(run_id, seq, &k);
  return k;
}

std::string RunPrefix(std::string_view run_id) {
  std::string k;
  AppendRunPrefix(run_id, &k);
  return k;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

std::string ActiveKey(std::string_view run_id) {
  std::string k(kActivePrefix);
  k.append(run_id);
  return k;
}

std::string FinishedKey(std::string_view run_id) {
  std::string k(kFinishedPrefix);
  k.append(run_id);
  return k;
}

std::string DefinitionKey(std::string_view hash) {
  std::string k(kDefinitionPrefix);
  k.append(hash);
  return k;
}

bool ParseRecordKey(std::string_view key, std::string_view* run_id, uint64_t* seq) {
  if (key.size() < kRecordPrefix.size() + 1 + 1 + kSeqBytes) return false;
  if (key.substr(0, kRecordPrefix.size()) != kRecordPrefix) return false;
  size_t slash = key.size() - kSeqBytes - 1;
  if (key[slash] != '/') return false;
  std::string_view run = key.substr(kRecordPrefix.size(), slash - kRecordPrefix.size());
  if (!ValidateRunId(run).ok()) return false;
  *run_id = run;
  return GetBigEndian64(key.substr(slash + 1), seq);
}

std::string PrintableKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      out.append("\\x");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

}  // namespace brfed::storage
