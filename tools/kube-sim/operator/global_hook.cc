// Registers the simulated tidb-operator with every Simulator of the process. This file is only
// linked where the library is linked whole (the kube-sim binary); tests use MakeOperatorHook.
#include "tools/kube-sim/operator/operator_hook.h"

namespace brfed::kubesim::op {
namespace {

const bool kRegistered = [] {
  RegisterOperatorGlobalHook();
  return true;
}();

}  // namespace
}  // namespace brfed::kubesim::op
