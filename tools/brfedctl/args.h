// Args: the command line of one brfedctl subcommand.
//
//   ASSIGN_OR_RETURN(Args args, Args::Parse("run", argv, {{"journal", true}, {"json", false}}));
//   std::string dir = args.Get("journal").value_or("");
//   for (const std::string& p : args.GetAll("param")) ...
//
// Accepts `--name=value`, `--name value` and boolean `--name`; `--` ends the flags. Flags not
// declared are errors naming the flag, as is a missing value. Everything else is positional,
// in order. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"

namespace brfed::ctl {

struct FlagSpec {
  std::string name;   // without the leading "--"
  bool takes_value = false;
};

class Args {
 public:
  // kInvalidArgument ("brfedctl run: unknown flag --foo") for a bad command line.
  static Result<Args> Parse(std::string_view command, const std::vector<std::string>& argv,
                            const std::vector<FlagSpec>& flags);

  bool Has(std::string_view name) const;
  // The last value given for `name`, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value given for `name`, in order.
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::pair<std::string, std::string>> flags_;
  std::vector<std::string> positional_;
};

}  // namespace brfed::ctl
