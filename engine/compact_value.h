// CompactValue: a Value held in one pointer. Internal to engine/.
#pragma once

#include <utility>

#include "brfed/value.h"

namespace brfed::internal {

// A Value in one pointer, copied by value with its owner: null and the empty map, which most
// step outputs are, need no allocation; anything else lives on the heap.
class CompactValue {
 public:
  CompactValue() = default;
  CompactValue(const CompactValue& o) : p_(o.owned() ? new Value(*o.p_) : o.p_) {}
  CompactValue& operator=(const CompactValue& o) {
    if (this != &o) Set(o.get());
    return *this;
  }
  CompactValue(CompactValue&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  CompactValue& operator=(CompactValue&& o) noexcept {
    if (this != &o) {
      Reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~CompactValue() { Reset(); }

  const Value& get() const { return p_ != nullptr ? *p_ : kNull; }
  void Set(const Value& v) {
    if (SetIfInline(v)) return;
    if (owned()) {
      const_cast<Value*>(p_)->Assign(v);  // our own, on the heap
    } else {
      p_ = new Value(v);
    }
  }
  void Set(Value&& v) {
    if (SetIfInline(v)) return;
    if (owned()) {
      *const_cast<Value*>(p_) = std::move(v);  // our own, on the heap
    } else {
      p_ = new Value(std::move(v));
    }
  }

 private:
  // Holds null or {} without the heap; false for anything else, changing nothing.
  bool SetIfInline(const Value& v) {
    if (!v.is_null() && !(v.is_map() && v.as_map().empty())) return false;
    Reset();
    if (!v.is_null()) p_ = &kEmptyMap;
    return true;
  }
  bool owned() const { return p_ != nullptr && p_ != &kEmptyMap; }
  void Reset() {
    if (owned()) delete p_;
    p_ = nullptr;
  }

  static inline const Value kNull{};
  static inline const Value kEmptyMap{Value::Map{}};
  const Value* p_ = nullptr;  // nullptr: null; &kEmptyMap: {}; else owned
};

}  // namespace brfed::internal
