#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "brfed/workflow.h"

namespace brfed {
namespace {

using std::chrono::milliseconds;

// The test.* actions as RegisterTestSteps declares them (brfed/step.h).
class FakeCatalog final : public ActionCatalog {
 public:
  const ActionSpec* FindAction(std::string_view name) const override {
    for (const ActionSpec& s : specs_) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

 private:
  std::vector<ActionSpec> specs_ = {
      {"test.noop", {}, {}},
      {"test.sleep", {"duration"}, {"duration"}},
      {"test.fail", {"times", "message"}, {"times"}},
      {"test.append", {"path", "text"}, {"path", "text"}},
      {"test.echo", {"value"}, {"value"}},
  };
};

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The diagnostics of loading `text` as "wf.yaml", one "FILE:LINE:COL: reason" per line.
std::string Problems(std::string_view text) {
  FakeCatalog catalog;
  std::vector<Diagnostic> diags;
  Result<Workflow> wf = LoadWorkflow(text, "wf.yaml", catalog, &diags);
  std::string out;
  for (const Diagnostic& d : diags) out += d.ToString() + "\n";
  if (wf.ok()) {
    EXPECT_TRUE(diags.empty());
    return "OK\n" + out;
  }
  EXPECT_EQ(wf.status().code(), StatusCode::kInvalidArgument);
  // The status message is the same lines, joined.
  EXPECT_EQ(wf.status().message() + "\n", out);
  return out;
}

struct Case {
  const char* name;
  std::string yaml;
  std::string want;  // the diagnostics, one per line
};

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Problems(c.yaml), c.want) << c.yaml;
  }
}

TEST(LoaderTest, RejectsBadYaml) {
  RunCases({
      {"unterminated flow", "name: [a\n",
       "wf.yaml:2:1: invalid YAML: end of sequence flow not found\n"},
      {"illegal map value", "name: x\na: b: c\n", "wf.yaml:2:5: invalid YAML: illegal map value\n"},
      {"empty", "", "wf.yaml:1:1: empty document\n"},
      {"comment only", "# nothing\n", "wf.yaml:1:1: empty document\n"},
      {"two documents", "name: x\n---\nname: y\n", "wf.yaml:3:1: more than one YAML document\n"},
      {"not a map", "- a\n",
       "wf.yaml:1:1: a workflow must be a map with \"name\" and \"steps\", not a list\n"},
      {"scalar root", "hello\n",
       "wf.yaml:1:1: a workflow must be a map with \"name\" and \"steps\", not a string\n"},
      {"duplicate yaml key", "name: x\nname: y\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:1: duplicate key \"name\" (first at 1:1)\n"},
      {"recursive alias", "name: &a [*a]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:1:11: alias refers to a node that contains it\n"},
      {"too deep", "name: x\nsteps: " + std::string(100, '[') + std::string(100, ']') + "\n",
       "wf.yaml:2:71: nesting deeper than 64 levels\n"},
      {"deeper than yaml-cpp's own limit",
       "name: x\nsteps: " + std::string(1000, '[') + std::string(1000, ']') + "\n",
       "wf.yaml:2:71: nesting deeper than 64 levels\n"},
      {"unsupported tag", "name: !foo x\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:1:7: unsupported tag \"!foo\"\n"},
      {"wrong core tag", "name: !!int abc\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:1:7: \"abc\" is not a valid !!int\n"},
      {"non-scalar key", "name: x\nsteps: [{id: a, action: test.noop}]\n[k]: 1\n",
       "wf.yaml:3:1: map keys must be scalars, not a list\n"},
  });
}

TEST(LoaderTest, RejectsTooLargeFiles) {
  std::string big = "name: x\nsteps: [{id: a, action: test.noop}]\n# " + std::string(1 << 20, 'x');
  EXPECT_EQ(Problems(big), "wf.yaml:1:1: file too large: " + std::to_string(big.size()) +
                               " bytes (max 1048576)\n");
}

TEST(LoaderTest, RejectsAliasBombs) {
  // Nine levels of nine aliases each would be 9^9 nodes.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 9; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  std::string problems = Problems(yaml);
  EXPECT_NE(problems.find("document too large: more than 100000 nodes after expanding aliases"),
            std::string::npos)
      << problems;
}

TEST(LoaderTest, RejectsUnknownAndMissingKeys) {
  RunCases({
      {"top level", "name: x\nstep: []\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:1: unknown key \"step\" in workflow; expected one of: name, params, steps, "
       "finally\n"},
      {"params entry",
       "name: x\nparams: [{name: p, kind: int}]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:20: unknown key \"kind\" in params entry; expected one of: name, type, required, "
       "default\n"},
      {"step", "name: x\nsteps:\n  - id: a\n    action: test.noop\n    need: [b]\n",
       "wf.yaml:5:5: unknown key \"need\" in step; expected one of: id, action, needs, forEach, "
       "with, retry, timeout\n"},
      {"finally step",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally:\n  - {id: f, action: test.noop, "
       "when: always}\n",
       "wf.yaml:4:32: unknown key \"when\" in finally step; expected one of: id, action, needs, "
       "forEach, with, retry, timeout, if\n"},
      {"retry",
       "name: x\nsteps:\n  - id: a\n    action: test.noop\n    retry: {limit: 1, delay: 1s}\n",
       "wf.yaml:5:23: unknown key \"delay\" in retry; expected one of: limit, backoff, factor, "
       "maxBackoff, jitter\n"},
      {"with key the action does not take",
       "name: x\nsteps:\n  - id: a\n    action: test.sleep\n    with: {duration: 1s, "
       "durration: 2s}\n",
       "wf.yaml:5:26: action \"test.sleep\" does not take \"durration\"; it takes: duration\n"},
      {"with on an action that takes nothing",
       "name: x\nsteps:\n  - id: a\n    action: test.noop\n    with: {x: 1}\n",
       "wf.yaml:5:12: action \"test.noop\" does not take \"x\"; it takes nothing\n"},
      {"with missing a required key",
       "name: x\nsteps:\n  - id: a\n    action: test.append\n    with: {path: /tmp/x}\n",
       "wf.yaml:5:11: action \"test.append\" requires \"text\" in with\n"},
      {"no with at all", "name: x\nsteps:\n  - id: a\n    action: test.sleep\n",
       "wf.yaml:3:5: action \"test.sleep\" requires \"duration\" in with\n"},
      {"missing name and steps", "params: []\n",
       "wf.yaml:1:1: workflow is missing required key \"name\"\n"
       "wf.yaml:1:1: workflow is missing required key \"steps\"\n"},
      {"missing id and action", "name: x\nsteps:\n  - needs: []\n",
       "wf.yaml:3:5: step is missing required key \"id\"\n"
       "wf.yaml:3:5: step is missing required key \"action\"\n"},
      {"missing param name",
       "name: x\nparams: [{type: int}]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:10: params entry is missing required key \"name\"\n"},
      {"if on a main step", "name: x\nsteps:\n  - id: a\n    action: test.noop\n    if: always\n",
       "wf.yaml:5:5: \"if\" is only allowed on finally steps\n"},
  });
}

TEST(LoaderTest, RejectsWrongTypes) {
  RunCases({
      {"name list", "name: [a]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:1:7: \"name\" must be a string, not a list\n"},
      {"name empty", "name: ''\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:1:7: \"name\" must not be empty\n"},
      {"steps map", "name: x\nsteps: {a: 1}\n",
       "wf.yaml:2:8: \"steps\" must be a list, not a map\n"},
      {"steps empty", "name: x\nsteps: []\n", "wf.yaml:2:8: \"steps\" must not be empty\n"},
      {"finally null", "name: x\nsteps: [{id: a, action: test.noop}]\nfinally:\n",
       "wf.yaml:3:1: \"finally\" must be a list, not null\n"},
      {"params map", "name: x\nparams: {a: 1}\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:9: \"params\" must be a list, not a map\n"},
      {"params entry string", "name: x\nparams: [a]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:10: params entries must be maps, not a string\n"},
      {"step string", "name: x\nsteps: [a]\n",
       "wf.yaml:2:9: steps entries must be maps, not a string\n"},
      {"finally step list", "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [[]]\n",
       "wf.yaml:3:11: finally entries must be maps, not a list\n"},
      {"id int", "name: x\nsteps: [{id: 1, action: test.noop}]\n",
       "wf.yaml:2:14: \"id\" must be a string, not an int\n"},
      {"id with a dot", "name: x\nsteps: [{id: a.b, action: test.noop}]\n",
       "wf.yaml:2:14: bad step id \"a.b\": use letters, digits, '_' and '-'\n"},
      {"action map", "name: x\nsteps: [{id: a, action: {x: 1}}]\n",
       "wf.yaml:2:25: \"action\" must be a string, not a map\n"},
      {"needs string", "name: x\nsteps: [{id: a, action: test.noop, needs: b}]\n",
       "wf.yaml:2:43: \"needs\" must be a list of step ids, not a string\n"},
      {"needs entry int", "name: x\nsteps: [{id: a, action: test.noop, needs: [1]}]\n",
       "wf.yaml:2:44: needs entries must be step ids, not an int\n"},
      {"with list", "name: x\nsteps: [{id: a, action: test.noop, with: [1]}]\n",
       "wf.yaml:2:42: \"with\" must be a map, not a list\n"},
      {"retry list", "name: x\nsteps: [{id: a, action: test.noop, retry: [1]}]\n",
       "wf.yaml:2:43: \"retry\" must be a map, not a list\n"},
      {"limit string", "name: x\nsteps: [{id: a, action: test.noop, retry: {limit: two}}]\n",
       "wf.yaml:2:51: \"limit\" must be an int, not a string\n"},
      {"limit double", "name: x\nsteps: [{id: a, action: test.noop, retry: {limit: 1.5}}]\n",
       "wf.yaml:2:51: \"limit\" must be an int, not a double\n"},
      {"factor string", "name: x\nsteps: [{id: a, action: test.noop, retry: {factor: x}}]\n",
       "wf.yaml:2:52: \"factor\" must be a number, not a string\n"},
      {"jitter bool", "name: x\nsteps: [{id: a, action: test.noop, retry: {jitter: true}}]\n",
       "wf.yaml:2:52: retry jitter must be none or full, not \"true\"\n"},
      {"timeout int", "name: x\nsteps: [{id: a, action: test.noop, timeout: 30}]\n",
       "wf.yaml:2:45: \"timeout\" must be a duration such as \"30s\", not an int\n"},
      {"backoff list", "name: x\nsteps: [{id: a, action: test.noop, retry: {backoff: [1s]}}]\n",
       "wf.yaml:2:53: \"backoff\" must be a duration such as \"1s\", not a list\n"},
      {"required string",
       "name: x\nparams: [{name: p, required: yes}]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:30: \"required\" must be a bool, not a string\n"},
      {"if int",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: f, action: test.noop, if: "
       "1}]\n",
       "wf.yaml:3:42: bad if \"1\": expected always, succeeded, failed or started(<step id>)\n"},
  });
}

TEST(LoaderTest, RejectsBadRetryAndDurations) {
  RunCases({
      {"negative limit", "name: x\nsteps: [{id: a, action: test.noop, retry: {limit: -1}}]\n",
       "wf.yaml:2:51: retry limit must be >= 0, not -1\n"},
      {"huge limit", "name: x\nsteps: [{id: a, action: test.noop, retry: {limit: 2000000}}]\n",
       "wf.yaml:2:51: retry limit must be <= 1000000, not 2000000\n"},
      {"factor below 1", "name: x\nsteps: [{id: a, action: test.noop, retry: {factor: 0.5}}]\n",
       "wf.yaml:2:52: retry factor must be >= 1, not 0.5\n"},
      {"factor nan", "name: x\nsteps: [{id: a, action: test.noop, retry: {factor: .nan}}]\n",
       "wf.yaml:2:52: retry factor must be >= 1, not .nan\n"},
      {"factor huge", "name: x\nsteps: [{id: a, action: test.noop, retry: {factor: 1e9}}]\n",
       "wf.yaml:2:52: retry factor must be <= 100, not 1e9\n"},
      {"jitter", "name: x\nsteps: [{id: a, action: test.noop, retry: {jitter: half}}]\n",
       "wf.yaml:2:52: retry jitter must be none or full, not \"half\"\n"},
      {"backoff", "name: x\nsteps: [{id: a, action: test.noop, retry: {backoff: 5x}}]\n",
       "wf.yaml:2:53: backoff: bad duration \"5x\": expected a unit (h, m, s or ms) after the "
       "number\n"},
      {"maxBackoff", "name: x\nsteps: [{id: a, action: test.noop, retry: {maxBackoff: -1s}}]\n",
       "wf.yaml:2:56: maxBackoff: bad duration \"-1s\": negative\n"},
      {"maxBackoff below backoff",
       "name: x\nsteps: [{id: a, action: test.noop, retry: {backoff: 5s, maxBackoff: 1s}}]\n",
       "wf.yaml:2:69: maxBackoff (1s) is less than backoff (5s)\n"},
      {"timeout", "name: x\nsteps: [{id: a, action: test.noop, timeout: 1.5ms}]\n",
       "wf.yaml:2:45: timeout: bad duration \"1.5ms\": finer than a millisecond\n"},
      {"timeout zero", "name: x\nsteps: [{id: a, action: test.noop, timeout: 0s}]\n",
       "wf.yaml:2:45: timeout must be greater than 0\n"},
      {"sleep duration is the step's business, not the loader's",
       "name: x\nsteps: [{id: a, action: test.sleep, with: {duration: soon}}]\n", "OK\n"},
  });
}

TEST(LoaderTest, RejectsBadIdsNeedsAndActions) {
  RunCases({
      {"duplicate id across steps and finally",
       "name: x\nsteps:\n  - {id: a, action: test.noop}\n  - {id: b, action: test.noop}\n"
       "finally:\n  - {id: a, action: test.noop}\n",
       "wf.yaml:6:10: duplicate step id \"a\" (first at 3:10)\n"},
      {"unknown action", "name: x\nsteps: [{id: a, action: test.nope}]\n",
       "wf.yaml:2:25: unknown action \"test.nope\"\n"},
      {"unknown needs", "name: x\nsteps: [{id: a, action: test.noop, needs: [b]}]\n",
       "wf.yaml:2:44: needs unknown step \"b\"\n"},
      {"needs twice",
       "name: x\nsteps: [{id: a, action: test.noop}, {id: b, action: test.noop, needs: [a, a]}]\n",
       "wf.yaml:2:75: step \"a\" is listed twice in needs\n"},
      {"main needs finally",
       "name: x\nsteps: [{id: a, action: test.noop, needs: [f]}]\nfinally: [{id: f, action: "
       "test.noop}]\n",
       "wf.yaml:2:44: step \"a\" cannot need finally step \"f\"\n"},
      {"finally needs main",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: f, action: test.noop, needs: "
       "[a]}]\n",
       "wf.yaml:3:46: finally step \"f\" cannot need main step \"a\"; finally steps run after the "
       "main steps ended\n"},
      {"self need", "name: x\nsteps: [{id: a, action: test.noop, needs: [a]}]\n",
       "wf.yaml:2:14: cycle: a -> a\n"},
      {"three-step cycle, named in order from the first step",
       "name: x\nsteps:\n  - {id: a, action: test.noop, needs: [c]}\n  - {id: b, action: "
       "test.noop, needs: [a]}\n  - {id: c, action: test.noop, needs: [b]}\n  - {id: d, action: "
       "test.noop, needs: [a]}\n",
       "wf.yaml:3:10: cycle: a -> c -> b -> a\n"},
      {"two cycles, one diagnostic each",
       "name: x\nsteps:\n  - {id: a, action: test.noop, needs: [b]}\n  - {id: b, action: "
       "test.noop, needs: [a]}\n  - {id: c, action: test.noop, needs: [d]}\n  - {id: d, action: "
       "test.noop, needs: [c, a]}\n",
       "wf.yaml:3:10: cycle: a -> b -> a\nwf.yaml:5:10: cycle: c -> d -> c\n"},
      {"cycle among finally steps",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally:\n  - {id: f, action: test.noop, "
       "needs: [g]}\n  - {id: g, action: test.noop, needs: [f]}\n",
       "wf.yaml:4:10: cycle: f -> g -> f\n"},
  });
}

TEST(LoaderTest, RejectsBadConditions) {
  RunCases({
      {"unknown predicate",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: f, action: test.noop, if: "
       "sometimes}]\n",
       "wf.yaml:3:42: bad if \"sometimes\": expected always, succeeded, failed or started(<step "
       "id>)\n"},
      {"expression",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: f, action: "
       "test.noop, if: 'failed || always'}]\n",
       "wf.yaml:3:42: bad if \"failed || always\": expected always, succeeded, failed or "
       "started(<step id>)\n"},
      {"started without id",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: f, "
       "action: test.noop, if: started()}]\n",
       "wf.yaml:3:42: bad if \"started()\": expected always, succeeded, failed or started(<step "
       "id>)\n"},
      {"started of unknown step",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: "
       "f, action: test.noop, if: started(b)}]\n",
       "wf.yaml:3:42: if: started(b) must name a main step\n"},
      {"started of a finally step",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally: [{id: "
       "f, action: test.noop, if: started(f)}]\n",
       "wf.yaml:3:42: if: started(f) must name a main step\n"},
  });
}

TEST(LoaderTest, RejectsBadForEach) {
  RunCases({
      {"map", "name: x\nsteps: [{id: a, action: test.noop, forEach: {a: 1}}]\n",
       "wf.yaml:2:45: \"forEach\" must be a list or a single \"$(...)\" reference, not a map\n"},
      {"plain string", "name: x\nsteps: [{id: a, action: test.noop, forEach: abc}]\n",
       "wf.yaml:2:45: \"forEach\" must be a list or a single \"$(...)\" reference, not \"abc\"\n"},
      {"int", "name: x\nsteps: [{id: a, action: test.noop, forEach: 3}]\n",
       "wf.yaml:2:45: \"forEach\" must be a list or a single \"$(...)\" reference, not an int\n"},
      {"reference with more text",
       "name: x\nparams: [{name: l, type: list}]\nsteps: [{id: a, action: test.noop, forEach: "
       "\"$(params.l) x\"}]\n",
       "wf.yaml:3:45: \"forEach\" must be a list or a single \"$(...)\" reference, not "
       "\"$(params.l) "
       "x\"\n"},
      {"two references",
       "name: x\nparams: [{name: l, type: list}]\nsteps: [{id: a, action: test.noop, forEach: "
       "\"$(params.l)$(params.l)\"}]\n",
       "wf.yaml:3:45: \"forEach\" must be a list or a single \"$(...)\" reference, not "
       "\"$(params.l)$(params.l)\"\n"},
      {"bad reference", "name: x\nsteps: [{id: a, action: test.noop, forEach: $(zones)}]\n",
       "wf.yaml:2:45: bad reference $(zones): must start with params, item or steps\n"},
      {"param of a scalar type",
       "name: x\nparams: [{name: s, type: string}]\nsteps: [{id: a, action: test.noop, forEach: "
       "$(params.s)}]\n",
       "wf.yaml:3:45: forEach over param \"s\" of type string; it must be a list\n"},
      {"undeclared param", "name: x\nsteps: [{id: a, action: test.noop, forEach: $(params.l)}]\n",
       "wf.yaml:2:45: $(params.l): no param \"l\" is declared\n"},
      {"item in forEach", "name: x\nsteps: [{id: a, action: test.noop, forEach: [$(item)]}]\n",
       "wf.yaml:2:46: $(item): forEach cannot reference item\n"},
      {"list and any params, and a key of an object param, are fine",
       "name: x\nparams: [{name: l, type: list}, {name: y}, {name: o, type: object}]\nsteps:\n"
       "  - {id: a, action: test.noop, forEach: $(params.l)}\n"
       "  - {id: b, action: test.noop, forEach: $(params.y)}\n"
       "  - {id: c, action: test.noop, forEach: $(params.o.zones)}\n",
       "OK\n"},
  });
}

TEST(LoaderTest, RejectsBadReferences) {
  RunCases({
      {"undeclared param",
       "name: x\nsteps: [{id: a, action: test.echo, with: {value: "
       "\"n=$(params.n)\"}}]\n",
       "wf.yaml:2:50: $(params.n): no param \"n\" is declared\n"},
      {"item outside forEach",
       "name: x\nsteps: [{id: a, action: test.echo, with: {value: $(item.zone)}}]\n",
       "wf.yaml:2:50: $(item.zone): item is only defined in a forEach step\n"},
      {"sibling step is not upstream",
       "name: x\nsteps:\n  - {id: a, action: test.echo, with: {value: 1}}\n  - {id: b, action: "
       "test.echo, with: {value: $(steps.a.outputs)}}\n",
       "wf.yaml:4:46: $(steps.a.outputs): step \"a\" is not upstream of \"b\" (not reachable "
       "through needs)\n"},
      {"downstream step is not upstream",
       "name: x\nsteps:\n  - {id: a, action: test.echo, with: {value: $(steps.b.outputs.x)}}\n"
       "  - {id: b, action: test.echo, needs: [a], with: {value: 1}}\n",
       "wf.yaml:3:46: $(steps.b.outputs.x): step \"b\" is not upstream of \"a\" (not reachable "
       "through needs)\n"},
      {"unknown step",
       "name: x\nsteps: [{id: a, action: test.echo, with: {value: "
       "$(steps.z.outputs)}}]\n",
       "wf.yaml:2:50: $(steps.z.outputs): no step \"z\"\n"},
      {"anything but outputs",
       "name: x\nsteps:\n  - {id: a, action: test.noop}\n  - {id: b, action: test.echo, needs: "
       "[a], with: {value: $(steps.a.status)}}\n",
       "wf.yaml:4:58: bad reference $(steps.a.status): expected steps.<id>.outputs\n"},
      {"unterminated",
       "name: x\nsteps: [{id: a, action: test.echo, with: {value: "
       "\"$(params.x\"}}]\n",
       "wf.yaml:2:50: unterminated \"$(\" in \"$(params.x\"\n"},
      {"main step referencing a finally step",
       "name: x\nsteps: [{id: a, action: test.echo, with: {value: $(steps.f.outputs)}}]\n"
       "finally: [{id: f, action: test.noop}]\n",
       "wf.yaml:2:50: $(steps.f.outputs): step \"f\" is not upstream of \"a\" (not reachable "
       "through needs)\n"},
      {"finally step referencing a finally step it does not need",
       "name: x\nsteps: [{id: a, action: test.noop}]\nfinally:\n  - {id: f, action: test.noop}\n"
       "  - {id: g, action: test.echo, with: {value: $(steps.f.outputs)}}\n",
       "wf.yaml:5:46: $(steps.f.outputs): step \"f\" is not upstream of \"g\" (not reachable "
       "through needs)\n"},
      {"every bad reference in one string is reported",
       "name: x\nsteps: [{id: a, action: test.echo, with: {value: \"$(bad) $(item) "
       "$(params.p)\"}}]\n",
       "wf.yaml:2:50: bad reference $(bad): must start with params, item or steps\n"
       "wf.yaml:2:50: $(item): item is only defined in a forEach step\n"
       "wf.yaml:2:50: $(params.p): no param \"p\" is declared\n"},
      {"upstream through needs, transitively; finally sees every main step; escapes are text",
       "name: x\nparams: [{name: p}]\nsteps:\n  - {id: a, action: test.echo, with: {value: 1}}\n"
       "  - {id: b, action: test.noop, needs: [a]}\n"
       "  - {id: c, action: test.echo, needs: [b], forEach: $(steps.a.outputs.list),\n"
       "     with: {value: \"$(steps.a.outputs.v[0]) $(item) $$(steps.zz.outputs) "
       "$(params.p.k)\"}}\n"
       "finally:\n  - {id: f, action: test.echo, with: {value: $(steps.c.outputs)}}\n"
       "  - {id: g, action: test.echo, needs: [f], with: {value: $(steps.f.outputs)}}\n",
       "OK\n"},
  });
}

TEST(LoaderTest, RejectsBadParams) {
  RunCases({
      {"bad type",
       "name: x\nparams: [{name: p, type: float}]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:26: unknown param type \"float\"; expected string, int, bool, double, list, "
       "object or any\n"},
      {"duplicate",
       "name: x\nparams: [{name: p}, {name: p}]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:28: duplicate param \"p\" (first at 2:17)\n"},
      {"bad name", "name: x\nparams: [{name: a.b}]\nsteps: [{id: a, action: test.noop}]\n",
       "wf.yaml:2:17: bad param name \"a.b\": use letters, digits, '_' and '-'\n"},
      {"default not an int",
       "name: x\nparams: [{name: p, type: int, default: \"3\"}]\nsteps: [{id: a, action: "
       "test.noop}]\n",
       "wf.yaml:2:40: default of param \"p\" must be of type int, not string\n"},
      {"default not a list",
       "name: x\nparams: [{name: p, type: list, default: a}]\nsteps: [{id: a, action: "
       "test.noop}]\n",
       "wf.yaml:2:41: default of param \"p\" must be of type list, not string\n"},
      {"default not an object",
       "name: x\nparams: [{name: p, type: object, default: [1]}]\nsteps: [{id: a, action: "
       "test.noop}]\n",
       "wf.yaml:2:43: default of param \"p\" must be of type object, not list\n"},
      {"default not a bool",
       "name: x\nparams: [{name: p, type: bool, default: 1}]\nsteps: [{id: a, action: "
       "test.noop}]\n",
       "wf.yaml:2:41: default of param \"p\" must be of type bool, not int\n"},
      {"default not a double",
       "name: x\nparams: [{name: p, type: double, default: x}]\nsteps: [{id: a, action: "
       "test.noop}]\n",
       "wf.yaml:2:43: default of param \"p\" must be of type double, not string\n"},
  });
}

TEST(LoaderTest, ReportsEveryProblemInOnePassSortedByPosition) {
  std::string dir = BRFED_TESTDATA_DIR "/loader/";
  std::string text = ReadFile(dir + "many-errors.yaml");
  std::string want = ReadFile(dir + "many-errors.golden");
  FakeCatalog catalog;
  std::vector<Diagnostic> diags;
  Result<Workflow> wf = LoadWorkflow(text, "many-errors.yaml", catalog, &diags);
  ASSERT_FALSE(wf.ok());
  std::string got;
  for (const Diagnostic& d : diags) got += d.ToString() + "\n";
  EXPECT_EQ(got, want);
  for (size_t i = 1; i < diags.size(); ++i) {
    SCOPED_TRACE(diags[i].ToString());
    EXPECT_TRUE(diags[i - 1].pos.line < diags[i].pos.line ||
                (diags[i - 1].pos.line == diags[i].pos.line &&
                 diags[i - 1].pos.column <= diags[i].pos.column));
  }
}

TEST(LoaderTest, DiagnosticsAreAppendedNotReplaced) {
  FakeCatalog catalog;
  std::vector<Diagnostic> diags = {Diagnostic{"earlier.yaml", {1, 1}, "kept"}};
  EXPECT_FALSE(LoadWorkflow("name: x\n", "wf.yaml", catalog, &diags).ok());
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].reason, "kept");
  EXPECT_EQ(diags[1].ToString(), "wf.yaml:1:1: workflow is missing required key \"steps\"");
  // Without a diagnostics vector the status still carries everything.
  Result<Workflow> wf = LoadWorkflow("name: x\n", "wf.yaml", catalog);
  EXPECT_EQ(wf.status().message(), "wf.yaml:1:1: workflow is missing required key \"steps\"");
}

TEST(LoaderTest, LoadsTheFullModel) {
  std::string text = ReadFile(BRFED_TESTDATA_DIR "/loader/full.yaml");
  FakeCatalog catalog;
  Result<Workflow> loaded = LoadWorkflow(text, "full.yaml", catalog);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Workflow& wf = *loaded;

  EXPECT_EQ(wf.name, "full");
  EXPECT_EQ(wf.source_text, text);
  EXPECT_EQ(wf.hash, Sha256Hex(text));
  EXPECT_EQ(wf.hash.size(), 64u);

  ASSERT_EQ(wf.params.size(), 4u);
  EXPECT_EQ(wf.params[0].name, "zones");
  EXPECT_EQ(wf.params[0].type, ParamType::kList);
  EXPECT_TRUE(wf.params[0].required);
  EXPECT_FALSE(wf.params[0].default_value.has_value());
  EXPECT_EQ(wf.params[0].pos.line, 4);
  EXPECT_EQ(wf.params[1].name, "ratio");
  EXPECT_EQ(wf.params[1].type, ParamType::kDouble);
  ASSERT_TRUE(wf.params[1].default_value.has_value());
  EXPECT_EQ(*wf.params[1].default_value, Value(2.0));  // an int default of a double param
  EXPECT_EQ(wf.params[2].type, ParamType::kObject);
  EXPECT_EQ(*wf.params[2].default_value, (Value::Map{{"k", "v"}}));
  EXPECT_EQ(wf.params[3].type, ParamType::kAny);
  EXPECT_FALSE(wf.params[3].required);

  ASSERT_EQ(wf.steps.size(), 3u);
  const StepDef& fan = wf.steps[0];
  EXPECT_EQ(fan.id, "fan");
  EXPECT_EQ(fan.action, "test.fail");
  EXPECT_FALSE(fan.is_finally);
  EXPECT_EQ(fan.pos.line, 12);
  EXPECT_EQ(fan.pos.column, 9);
  ASSERT_TRUE(fan.for_each.has_value());
  EXPECT_EQ(*fan.for_each, Value("$(params.zones)"));
  EXPECT_EQ(fan.with, (Value::Map{{"times", 2}, {"message", "zone $(item)"}}));
  EXPECT_EQ(fan.retry.limit, 3);
  EXPECT_EQ(fan.retry.backoff, milliseconds(250));
  EXPECT_EQ(fan.retry.factor, 1.5);
  EXPECT_EQ(fan.retry.max_backoff, milliseconds(90000));
  EXPECT_EQ(fan.retry.jitter, Jitter::kNone);
  EXPECT_EQ(fan.timeout, milliseconds(3723000));

  const StepDef& echo = wf.steps[1];
  EXPECT_EQ(echo.needs, (std::vector<std::string>{"fan"}));
  EXPECT_FALSE(echo.for_each.has_value());
  // Defaults of an absent retry block.
  EXPECT_EQ(echo.retry.limit, 0);
  EXPECT_EQ(echo.retry.backoff, milliseconds(1000));
  EXPECT_EQ(echo.retry.factor, 2.0);
  EXPECT_EQ(echo.retry.max_backoff, milliseconds(60000));
  EXPECT_EQ(echo.retry.jitter, Jitter::kFull);
  EXPECT_FALSE(echo.timeout.has_value());
  // YAML scalars keep their YAML types; quoted text stays a string.
  Value want_value = Value::Map{
      {"int", 7},
      {"neg", -3},
      {"hex", 31},
      {"double", 2.5},
      {"exp", 1000.0},
      {"bool", true},
      {"null", Value()},
      {"tilde", Value()},
      {"quoted_int", "7"},
      {"quoted_bool", "true"},
      {"yes", "yes"},
      {"duration", "1m30s"},
      {"list", Value::List{1, "two", Value::Map{{"three", 3}}}},
      {"ref", "$(steps.fan.outputs.value)"},
      {"literal", "line one\nline two\n"},
  };
  EXPECT_EQ(echo.with, (Value::Map{{"value", want_value}})) << echo.with.ToJson();

  const StepDef& listed = wf.steps[2];
  ASSERT_TRUE(listed.for_each.has_value());
  EXPECT_EQ(*listed.for_each, (Value::List{"a", 1, "$(params.anything)"}));
  EXPECT_EQ(listed.needs, (std::vector<std::string>{"fan", "echo"}));

  ASSERT_EQ(wf.finally_steps.size(), 4u);
  const RunCondition::Kind kinds[] = {RunCondition::Kind::kAlways, RunCondition::Kind::kSucceeded,
                                      RunCondition::Kind::kFailed, RunCondition::Kind::kStarted};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(wf.finally_steps[i].id);
    EXPECT_TRUE(wf.finally_steps[i].is_finally);
    EXPECT_EQ(wf.finally_steps[i].condition.kind, kinds[i]);
  }
  EXPECT_EQ(wf.finally_steps[3].condition.step, "fan");
  EXPECT_EQ(wf.finally_steps[1].needs, (std::vector<std::string>{"always-step"}));

  EXPECT_EQ(wf.FindStep("echo"), &wf.steps[1]);
  EXPECT_EQ(wf.FindStep("failed-step"), &wf.finally_steps[2]);
  EXPECT_EQ(wf.FindStep("nope"), nullptr);
}

TEST(LoaderTest, AliasesAreExpanded) {
  FakeCatalog catalog;
  Result<Workflow> wf = LoadWorkflow(
      "name: x\nsteps:\n  - id: a\n    action: test.fail\n    with: {times: 1}\n"
      "    retry: &r {limit: 4, backoff: 2s}\n"
      "  - {id: b, action: test.fail, with: {times: 1}, retry: *r}\n",
      "wf.yaml", catalog);
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  EXPECT_EQ(wf->steps[1].retry.limit, 4);
  EXPECT_EQ(wf->steps[1].retry.backoff, milliseconds(2000));
}

TEST(LoaderTest, HashIdentifiesTheText) {
  FakeCatalog catalog;
  auto a = LoadWorkflow("name: x\nsteps: [{id: a, action: test.noop}]\n", "a.yaml", catalog);
  auto b = LoadWorkflow("name: x\nsteps: [{id: a, action: test.noop}]  \n", "b.yaml", catalog);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->hash, b->hash);
  EXPECT_EQ(a->hash, Sha256Hex(a->source_text));
}

TEST(LoaderTest, ExampleWorkflowsLoad) {
  FakeCatalog catalog;
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(BRFED_SOURCE_DIR "/examples/workflows")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    ++n;
    Result<Workflow> wf = LoadWorkflow(ReadFile(entry.path()), entry.path().string(), catalog);
    EXPECT_TRUE(wf.ok()) << wf.status().message();
  }
  EXPECT_GE(n, 3);
}

TEST(LoaderTest, NeverCrashesOnTruncatedInput) {
  // Every prefix of a valid definition loads or is rejected with diagnostics.
  std::string text = ReadFile(BRFED_TESTDATA_DIR "/loader/full.yaml");
  FakeCatalog catalog;
  for (size_t n = 0; n <= text.size(); ++n) {
    std::vector<Diagnostic> diags;
    Result<Workflow> wf =
        LoadWorkflow(std::string_view(text).substr(0, n), "p.yaml", catalog, &diags);
    ASSERT_EQ(wf.ok(), diags.empty()) << n;
    for (const Diagnostic& d : diags) {
      ASSERT_GE(d.pos.line, 1) << d.ToString();
      ASSERT_GE(d.pos.column, 1) << d.ToString();
    }
  }
}

}  // namespace
}  // namespace brfed
