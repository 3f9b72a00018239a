#include "engine/expr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace brfed {
namespace {

TEST(ParseRefPathTest, ParsesHeadsKeysAndIndexes) {
  struct Case {
    std::string text;
    std::string head;
    std::string parts;  // ".key" and "[i]" joined
  } cases[] = {
      {"params.clusters", "params", ".clusters"},
      {"params.clusters[0].name", "params", ".clusters[0].name"},
      {"item", "item", ""},
      {"item[2][10]", "item", "[2][10]"},
      {"item.zone-a_1", "item", ".zone-a_1"},
      {"steps.rbac-check.outputs", "steps", ".rbac-check.outputs"},
      {"steps.snap.outputs.ids[3]", "steps", ".snap.outputs.ids[3]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    Result<RefPath> p = ParseRefPath(c.text);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->text, c.text);
    EXPECT_EQ(p->head, c.head);
    std::string parts;
    for (const auto& part : p->parts) {
      parts += part.is_index ? "[" + std::to_string(part.index) + "]" : "." + part.key;
    }
    EXPECT_EQ(parts, c.parts);
  }
}

TEST(ParseRefPathTest, RejectsBadPaths) {
  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {"", "bad reference $(): must start with params, item or steps"},
      {"env.HOME", "bad reference $(env.HOME): must start with params, item or steps"},
      {"params", "bad reference $(params): expected params.<name>"},
      {"params[0]", "bad reference $(params[0]): expected params.<name>"},
      {"params.", "bad reference $(params.): expected a key after '.'"},
      {"params.a..b", "bad reference $(params.a..b): expected a key after '.'"},
      {"item[-1]", "bad reference $(item[-1]): expected a non-negative integer index in [...]"},
      {"item[1", "bad reference $(item[1): expected a non-negative integer index in [...]"},
      {"item[]", "bad reference $(item[]): expected a non-negative integer index in [...]"},
      {"item[99999999999999999999]",
       "bad reference $(item[99999999999999999999]): index out of range"},
      {"item x", "bad reference $(item x): unexpected character ' '"},
      {"steps.a", "bad reference $(steps.a): expected steps.<id>.outputs"},
      {"steps.a.status", "bad reference $(steps.a.status): expected steps.<id>.outputs"},
      {"steps[0].outputs", "bad reference $(steps[0].outputs): expected steps.<id>.outputs"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    Result<RefPath> p = ParseRefPath(c.text);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(p.status().message(), c.message);
  }
}

TEST(CollectRefsTest, FindsEveryReferenceInDocumentOrder) {
  Value v = Value::Map{
      {"a", "$(params.x) and $(item.y)"},
      {"b", Value::List{"$$(params.escaped)", "$(steps.s.outputs.k)", 3, Value()}},
      {"c", Value::Map{{"$(params.key_is_not_a_ref)", "plain"}}},
  };
  Result<std::vector<RefPath>> refs = CollectRefs(v);
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  std::vector<std::string> texts;
  for (const RefPath& r : *refs) texts.push_back(r.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"params.x", "item.y", "steps.s.outputs.k"}));
}

TEST(CollectRefsTest, RejectsUnterminatedAndBadPaths) {
  struct Case {
    Value v;
    std::string message;
  } cases[] = {
      {Value("x $(params.a"), "unterminated \"$(\" in \"x $(params.a\""},
      {Value::List{"ok", "$(nope)"},
       "bad reference $(nope): must start with params, item or steps"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto refs = CollectRefs(c.v);
    ASSERT_FALSE(refs.ok());
    EXPECT_EQ(refs.status().message(), c.message);
  }
}

class ResolveTest : public ::testing::Test {
 protected:
  Value params_ = Value::Map{
      {"clusters", Value::List{Value::Map{{"name", "k8s-1"}}, Value::Map{{"name", "k8s-2"}}}},
      {"retries", 3},
      {"ratio", 0.5},
      {"label", "nightly"},
      {"empty", Value()},
      {"flag", true},
  };
  Value item_ = Value::Map{{"zone", "us-east-1a"}, {"index", 0}};
  std::map<std::string, Value, std::less<>> outputs_ = {
      {"init", Value::Map{{"backupName", "bk-1"}, {"ts", 42}}},
      {"snap", Value::List{Value::Map{{"id", "snap-a"}, {"size", 10}},
                           Value::Map{{"id", "snap-b"}, {"size", 20}}}},
  };
  MapOutputs outputs_view_{&outputs_};
  Scope scope_{.params = &params_, .item = &item_, .outputs = &outputs_view_};
};

TEST_F(ResolveTest, ResolvesReferences) {
  struct Case {
    Value in;
    Value want;
  } cases[] = {
      // Exactly "$(path)": the referenced value with its type.
      {"$(params.retries)", 3},
      {"$(params.ratio)", 0.5},
      {"$(params.flag)", true},
      {"$(params.empty)", Value()},
      {"$(params.clusters[1])", Value::Map{{"name", "k8s-2"}}},
      {"$(params.clusters[0].name)", "k8s-1"},
      {"$(item)", Value::Map{{"zone", "us-east-1a"}, {"index", 0}}},
      {"$(item.index)", 0},
      {"$(steps.init.outputs)", Value::Map{{"backupName", "bk-1"}, {"ts", 42}}},
      {"$(steps.init.outputs.ts)", 42},
      // forEach outputs: the list of item outputs, and a key projects over the items.
      {"$(steps.snap.outputs[1].id)", "snap-b"},
      {"$(steps.snap.outputs.id)", Value::List{"snap-a", "snap-b"}},
      {"$(steps.snap.outputs.size[1])", 20},
      // Inside a longer string: the value's text.
      {"n=$(params.retries)", "n=3"},
      {"$(params.label)-$(item.zone)", "nightly-us-east-1a"},
      {"[$(params.empty)]", "[]"},
      {"ids: $(steps.snap.outputs.id)", "ids: [\"snap-a\",\"snap-b\"]"},
      {"r=$(params.ratio) f=$(params.flag)", "r=0.5 f=true"},
      // Escapes and plain text.
      {"$$(params.retries)", "$(params.retries)"},
      {"cost $5 $$$(params.retries)", "cost $5 $$(params.retries)"},
      {"$", "$"},
      {"no refs", "no refs"},
      {"", ""},
      // Containers are resolved recursively; keys are not.
      {Value::Map{{"$(k)", Value::List{"$(params.retries)", 1.5, Value()}}},
       Value::Map{{"$(k)", Value::List{3, 1.5, Value()}}}},
      {7, 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in.ToJson());
    Result<Value> got = Resolve(c.in, scope_);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, c.want) << got->ToJson();
  }
}

TEST_F(ResolveTest, ReportsWhatCannotBeResolved) {
  struct Case {
    Value in;
    std::string message;
  } cases[] = {
      {"$(params.nope)", "$(params.nope): no param \"nope\""},
      {"$(params.clusters[2])",
       "$(params.clusters[2]): index 2 is out of range of params.clusters (2 items)"},
      {"$(params.clusters[0].zone)",
       "$(params.clusters[0].zone): params.clusters[0] has no key \"zone\""},
      {"$(params.retries.x)",
       "$(params.retries.x): params.retries is a int, not a map, and has no key \"x\""},
      {"$(params.label[0])",
       "$(params.label[0]): params.label is a string, not a list, and has no index 0"},
      {"$(item.zone.x)", "$(item.zone.x): item.zone is a string, not a map, and has no key \"x\""},
      {"$(steps.later.outputs)", "$(steps.later.outputs): step \"later\" has no outputs"},
      {"$(steps.init.outputs.nope)",
       "$(steps.init.outputs.nope): steps.init.outputs has no key \"nope\""},
      {"$(steps.snap.outputs.nope)",
       "$(steps.snap.outputs.nope): steps.snap.outputs[0] has no key \"nope\""},
      {"x $(params.retries", "unterminated \"$(\" in \"x $(params.retries\""},
      {Value::List{"ok", "in text $(bogus.x)"},
       "bad reference $(bogus.x): must start with params, item or steps"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in.ToJson());
    Result<Value> got = Resolve(c.in, scope_);
    ASSERT_FALSE(got.ok()) << got->ToJson();
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.message);
  }
}

TEST(ResolveScopeTest, MissingScopePartsAreErrors) {
  Scope empty;
  struct Case {
    std::string in;
    std::string message;
  } cases[] = {
      {"$(params.a)", "$(params.a): no params in scope"},
      {"$(item)", "$(item): no item outside a forEach step"},
      {"$(steps.a.outputs)", "$(steps.a.outputs): no step outputs in scope"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    Result<Value> got = Resolve(Value(c.in), empty);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), c.message);
  }
}

// IsLiteral says exactly when Resolve has nothing to do: any "$(" (a reference or the "$$("
// escape) anywhere in a string value makes a value not literal; keys are never resolved.
TEST(IsLiteralTest, AnyDollarParenInAStringValueIsNotLiteral) {
  EXPECT_TRUE(IsLiteral(Value()));
  EXPECT_TRUE(IsLiteral(Value(3)));
  EXPECT_TRUE(IsLiteral(Value("1h")));
  EXPECT_TRUE(IsLiteral(Value("cost $5 (each)")));
  EXPECT_TRUE(IsLiteral(Value::Map{{"$(key)", "v"}, {"l", Value::List{1, "x"}}}));
  EXPECT_FALSE(IsLiteral(Value("$(params.x)")));
  EXPECT_FALSE(IsLiteral(Value("pay $$(not a ref)")));
  EXPECT_FALSE(IsLiteral(Value::Map{{"k", Value::List{1, Value::Map{{"d", "a$(item)b"}}}}}));
  // And where it says literal, Resolve indeed returns the value unchanged.
  Value literal = Value::Map{{"duration", "1h"}, {"sizes", Value::List{1, 2.5, true}}};
  ASSERT_TRUE(IsLiteral(literal));
  Result<Value> resolved = Resolve(literal, Scope{});
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(*resolved, literal);
}

}  // namespace
}  // namespace brfed
