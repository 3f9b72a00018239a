// Status and Result<T>: how every brfed API reports success or failure.
//
//   Result<Workflow> w = LoadWorkflow(text, "backup.yaml", actions);
//   if (!w.ok()) return w.status().WithContext("manager: load");
//   ASSIGN_OR_RETURN(auto journal, Journal::Open(options));
//   RETURN_IF_ERROR(journal->Append(records));
//
// The code tells the caller what to do next:
//   kUnavailable, kDeadlineExceeded, kResourceExhausted: back off and retry;
//   kAborted (a 409 conflict): re-read and redo;
//   kInvalidArgument, kFailedPrecondition, kPermissionDenied: fail, do not retry;
//   kDataLoss: the journal is damaged.
// Exceptions never cross brfed APIs. Status is a value type, cheap to move, safe to copy; an OK
// status is a null pointer.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "brfed/boxed.h"

namespace brfed {

// Canonical codes, numbered as in absl/gRPC so they read the same in logs and on disk.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "OK", "INVALID_ARGUMENT", ...
std::string_view StatusCodeName(StatusCode code);
// Inverse of StatusCodeName; nullopt for an unknown name.
std::optional<StatusCode> StatusCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  // An OK code makes an OK status; its message is dropped. A moved-from status is OK.
  Status(StatusCode code, std::string message) {
    if (code != StatusCode::kOk) rep_.mut() = Rep{code, std::move(message)};
  }

  static Status OK() { return Status(); }

  bool ok() const { return rep_.empty(); }
  StatusCode code() const { return rep_.get().code; }
  const std::string& message() const { return rep_.get().message; }

  // True for the codes a caller should retry after a back-off.
  bool IsRetryable() const {
    const StatusCode c = code();
    return c == StatusCode::kUnavailable || c == StatusCode::kDeadlineExceeded ||
           c == StatusCode::kResourceExhausted || c == StatusCode::kAborted;
  }

  // "INVALID_ARGUMENT: message" ("OK" when ok).
  std::string ToString() const;

  // Returns a copy whose message is "context: message". OK stays OK.
  Status WithContext(std::string_view context) const;

  // Marks a Status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  // An error's code and message, out of line: an OK status, by far the most made and passed,
  // is one empty box (a null pointer, as in LevelDB), where a code and an empty string were 40
  // bytes to build, copy and destroy per call.
  struct Rep {
    StatusCode code = StatusCode::kOk;
    std::string message;
  };

  Boxed<Rep> rep_;
};

inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status UnknownError(std::string m) { return {StatusCode::kUnknown, std::move(m)}; }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status UnimplementedError(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}

// Result<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status");
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result from OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

namespace internal {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace brfed

#define BRFED_CONCAT_INNER_(a, b) a##b
#define BRFED_CONCAT_(a, b) BRFED_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (a Status or Result) is not OK.
#define RETURN_IF_ERROR(expr)                                                   \
  do {                                                                          \
    ::brfed::Status brfed_status_ = ::brfed::internal::AsStatus((expr));        \
    if (!brfed_status_.ok()) return brfed_status_;                              \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()): declares/assigns x from a Result or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(BRFED_CONCAT_(brfed_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
