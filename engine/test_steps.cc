// The built-in test.* actions (brfed/step.h RegisterTestSteps): workflows without a cluster.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "brfed/step.h"

namespace brfed {
namespace {

Fail BadInput(std::string_view action, std::string message) {
  return Fail{InvalidArgumentError(std::string(action) + ": " + std::move(message)), false};
}

class NoopStep final : public Step {
 public:
  StepResult Reconcile(StepContext&) override { return Done{}; }
};

class EchoStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    const Value* v = ctx.with().Find("value");
    Done done;
    done.outputs.as_map().emplace("value", v == nullptr ? Value() : *v);
    return done;
  }
};

// Done once `duration` has passed since the attempt started; the start time is journaled, so
// a restart does not begin the sleep again.
class SleepStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    const Value* v = ctx.with().Find("duration");
    Duration d{0};
    if (v != nullptr && v->is_string()) {
      Result<std::chrono::milliseconds> parsed = ParseDuration(v->as_string());
      if (!parsed.ok()) return BadInput("test.sleep", "duration: " + parsed.status().message());
      d = *parsed;
    } else if (v != nullptr && v->is_int() && v->as_int() >= 0) {
      d = Duration(v->as_int());  // milliseconds
    } else {
      return BadInput("test.sleep", "duration must be a duration string such as \"2s\"");
    }
    TimePoint until = ctx.attempt_started_at() + d;
    TimePoint now = ctx.now();
    if (now >= until) return Done{};
    return Wait{.wake_on = {},
                .recheck_after = until - now,
                .observed = "sleeping until " + std::to_string(ToUnixMillis(until))};
  }
};

// Fails (retryable) while attempt <= times, then succeeds with {attempts: attempt}.
class FailStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    const Value* times = ctx.with().Find("times");
    if (times == nullptr || !times->is_int() || times->as_int() < 0) {
      return BadInput("test.fail", "times must be an integer >= 0");
    }
    if (ctx.attempt() > times->as_int()) {
      return Done{Value::Map{{"attempts", static_cast<int64_t>(ctx.attempt())}}};
    }
    const Value* message = ctx.with().Find("message");
    std::string text = message != nullptr && !message->is_null()
                           ? message->ToText()
                           : "test.fail: attempt " + std::to_string(ctx.attempt()) + " of " +
                                 std::to_string(times->as_int()) + " fails";
    return Fail{UnavailableError(std::move(text)), true};
  }
};

// Appends "<key> <text>\n" to a file unless a line starting with "<key> " is there. The line
// is fsynced before Done, also when it was already there (an earlier attempt may have
// written it and died before its fsync).
class AppendStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    const Value* path = ctx.with().Find("path");
    const Value* text = ctx.with().Find("text");
    if (path == nullptr || !path->is_string() || path->as_string().empty()) {
      return BadInput("test.append", "path must be a non-empty string");
    }
    if (text == nullptr) return BadInput("test.append", "text is required");
    std::string body = text->ToText();
    if (body.find('\n') != std::string::npos) {
      return BadInput("test.append", "text must be one line");
    }
    std::string line = ctx.idempotency_key() + " " + body;
    // Workers of this process take turns; flock keeps other processes out too.
    std::lock_guard<std::mutex> l(mu_);
    Status s = AppendOnce(path->as_string(), ctx.idempotency_key(), line);
    if (!s.ok()) return Fail{s, s.IsRetryable()};
    return Done{Value::Map{{"line", line}}};
  }

 private:
  static Status Errno(const std::string& what, const std::string& path, int err) {
    std::string m = "test.append: " + what + " " + path + ": " + std::strerror(err);
    switch (err) {
      case ENOENT:
      case ENOTDIR:
      case EISDIR:
      case EACCES:
      case EPERM:
      case EROFS:
        return FailedPreconditionError(std::move(m));
      default:
        return UnavailableError(std::move(m));
    }
  }

  static Status AppendOnce(const std::string& path, const std::string& key,
                           const std::string& line) {
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path, errno);
    Status s = AppendLocked(fd, path, key, line);
    ::close(fd);
    return s;
  }

  static Status AppendLocked(int fd, const std::string& path, const std::string& key,
                             const std::string& line) {
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return Errno("lock", path, errno);
    }
    std::string content;
    char buf[65536];
    for (off_t off = 0;;) {
      ssize_t n = ::pread(fd, buf, sizeof(buf), off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("read", path, errno);
      if (n == 0) break;
      content.append(buf, static_cast<size_t>(n));
      off += n;
    }
    std::string prefix = key + " ";
    bool present = content.compare(0, prefix.size(), prefix) == 0 ||
                   content.find("\n" + prefix) != std::string::npos;
    if (!present) {
      // A torn last line (no newline) stays its own line.
      std::string out = (!content.empty() && content.back() != '\n' ? "\n" : "") + line + "\n";
      for (size_t done = 0; done < out.size();) {
        ssize_t n = ::write(fd, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Errno("write", path, errno);
        done += static_cast<size_t>(n);
      }
    }
    if (::fsync(fd) != 0) return Errno("fsync", path, errno);
    if (content.empty()) SyncParentDir(path);  // the file may be new: make its name durable
    return Status::OK();
  }

  static void SyncParentDir(const std::string& path) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return;  // best effort: the line itself is already synced
    ::fsync(dfd);
    ::close(dfd);
  }

  std::mutex mu_;
};

}  // namespace

Status RegisterTestSteps(StepRegistry* registry) {
  RETURN_IF_ERROR(registry->Register({"test.noop", {}, {}}, std::make_unique<NoopStep>()));
  RETURN_IF_ERROR(registry->Register({"test.sleep", {"duration"}, {"duration"}},
                                     std::make_unique<SleepStep>()));
  RETURN_IF_ERROR(registry->Register({"test.fail", {"times", "message"}, {"times"}},
                                     std::make_unique<FailStep>()));
  RETURN_IF_ERROR(registry->Register({"test.append", {"path", "text"}, {"path", "text"}},
                                     std::make_unique<AppendStep>()));
  RETURN_IF_ERROR(
      registry->Register({"test.echo", {"value"}, {"value"}}, std::make_unique<EchoStep>()));
  return Status::OK();
}

}  // namespace brfed
