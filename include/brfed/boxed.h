// Boxed<T>: a T held out of line that copies and compares as a value. What most owners never
// need costs a pointer instead of the T: a step instance's detail, a journal record's
// RunStarted fields.
//
//   Boxed<Detail> d;        // empty: no allocation
//   d.get().name;           // an empty box reads as T{}
//   d.mut().name = "x";     // allocates on first use
#pragma once

#include <memory>

namespace brfed {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(const Boxed& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  Boxed& operator=(const Boxed& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(Boxed&&) noexcept = default;

  const T& get() const { return p_ ? *p_ : kNone; }
  T& mut() {  // created on first use
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }
  bool empty() const { return p_ == nullptr; }

  // An empty box equals a box holding T{}.
  friend bool operator==(const Boxed& a, const Boxed& b) { return a.get() == b.get(); }

 private:
  static const T kNone;
  std::unique_ptr<T> p_;
};

template <typename T>
const T Boxed<T>::kNone{};

}  // namespace brfed
