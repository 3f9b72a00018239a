// The workflow definitions of workflows/*.yaml, compiled into the binary (generated at build
// time from the files by cmake/embed_workflows.cmake).
#pragma once

#include <cstddef>

namespace brfed::manager {

struct BuiltinWorkflow {
  const char* file;  // "volume-backup.yaml"
  const char* text;
};

extern const BuiltinWorkflow kBuiltinWorkflows[];
extern const size_t kBuiltinWorkflowCount;

}  // namespace brfed::manager
