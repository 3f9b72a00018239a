// ParseYamlValue: reads a command-line value as YAML, so `--param zones=[a,b,c]` is a list,
// `--param n=3` an int, `--param s='"3"'` a string.
//
//   ASSIGN_OR_RETURN(Value v, ParseYamlValue("[a, b, c]", "--param zones"));
//
// Plain scalars follow the YAML 1.2 core schema: null/~/empty, true/false, integers, floats,
// otherwise a string; quoted scalars are strings. Errors are kInvalidArgument naming `where`
// and the line:column of the problem.
#pragma once

#include <string_view>

#include "brfed/status.h"
#include "brfed/value.h"

namespace brfed::ctl {

Result<Value> ParseYamlValue(std::string_view text, std::string_view where);

}  // namespace brfed::ctl
