#include "tools/brfedctl/args.h"

namespace brfed::ctl {

Result<Args> Args::Parse(std::string_view command, const std::vector<std::string>& argv,
                         const std::vector<FlagSpec>& flags) {
  Args args;
  auto error = [&](const std::string& what) {
    return InvalidArgumentError("brfedctl " + std::string(command) + ": " + what);
  };
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || a.size() < 2 || a[0] != '-') {
      args.positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    std::string_view body(a);
    body.remove_prefix(body.starts_with("--") ? 2 : 1);
    std::string name(body.substr(0, body.find('=')));
    std::optional<std::string> value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : flags) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) return error("unknown flag " + a);
    if (spec->takes_value && !value) {
      if (i + 1 >= argv.size()) return error("flag --" + name + " needs a value");
      value = argv[++i];
    }
    if (!spec->takes_value && value) {
      return error("flag --" + name + " takes no value");
    }
    args.flags_.emplace_back(name, value.value_or(""));
  }
  return args;
}

bool Args::Has(std::string_view name) const {
  for (const auto& [n, v] : flags_) {
    if (n == name) return true;
  }
  return false;
}

std::optional<std::string> Args::Get(std::string_view name) const {
  std::optional<std::string> last;
  for (const auto& [n, v] : flags_) {
    if (n == name) last = v;
  }
  return last;
}

std::vector<std::string> Args::GetAll(std::string_view name) const {
  std::vector<std::string> all;
  for (const auto& [n, v] : flags_) {
    if (n == name) all.push_back(v);
  }
  return all;
}

}  // namespace brfed::ctl
