// The built-in workflows load and validate against the registered federation actions.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "brfed/step.h"
#include "brfed/workflow.h"
#include "steps/register.h"

namespace brfed::steps {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Workflows, EveryBuiltInWorkflowValidates) {
  StepRegistry registry;
  ASSERT_TRUE(RegisterFederationSteps(&registry).ok());
  struct Case {
    const char* file;
    const char* name;
    const char* finally_step;  // "" when none
  } cases[] = {{"volume-backup.yaml", "volume-backup", "teardown"},
               {"volume-backup-delete.yaml", "volume-backup-delete", ""},
               {"volume-restore.yaml", "volume-restore", ""},
               {"volume-restore-delete.yaml", "volume-restore-delete", ""}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    std::string path = std::string(BRFED_WORKFLOWS_DIR) + "/" + c.file;
    std::string text = ReadFile(path);
    ASSERT_FALSE(text.empty()) << path;
    std::vector<Diagnostic> problems;
    Result<Workflow> wf = LoadWorkflow(text, path, registry, &problems);
    for (const Diagnostic& d : problems) ADD_FAILURE() << d.ToString();
    ASSERT_TRUE(wf.ok()) << wf.status().ToString();
    EXPECT_EQ(wf->name, c.name);
    if (*c.finally_step != '\0') {
      EXPECT_NE(wf->FindStep(c.finally_step), nullptr);
    }
  }
}

TEST(Workflows, TeardownRunsWheneverInitializeStarted) {
  StepRegistry registry;
  ASSERT_TRUE(RegisterFederationSteps(&registry).ok());
  std::string path = std::string(BRFED_WORKFLOWS_DIR) + "/volume-backup.yaml";
  Result<Workflow> wf = LoadWorkflow(ReadFile(path), path, registry);
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  const StepDef* teardown = wf->FindStep("teardown");
  ASSERT_NE(teardown, nullptr);
  EXPECT_TRUE(teardown->is_finally);
  EXPECT_EQ(teardown->condition.kind, RunCondition::Kind::kStarted);
  EXPECT_EQ(teardown->condition.step, "initialize");
}

}  // namespace
}  // namespace brfed::steps
