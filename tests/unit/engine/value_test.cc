#include "brfed/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "base/sha256.h"

namespace brfed {
namespace {

TEST(ValueTest, ToJsonIsCompactAndOrdered) {
  struct Case {
    Value v;
    std::string json;
  } cases[] = {
      {Value(), "null"},
      {Value(true), "true"},
      {Value(false), "false"},
      {Value(0), "0"},
      {Value(int64_t{-9223372036854775807LL - 1}), "-9223372036854775808"},
      {Value(1.0), "1.0"},
      {Value(-2.5), "-2.5"},
      {Value(0.1), "0.1"},
      {Value(1e300), "1e+300"},
      {Value(std::numeric_limits<double>::infinity()), "null"},
      {Value(""), "\"\""},
      {Value("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\""},
      {Value("héllo"), "\"héllo\""},
      {Value(Value::List{}), "[]"},
      {Value(Value::Map{}), "{}"},
      {Value(Value::Map{{"zones", Value::List{"a", "b"}}, {"retries", 3}}),
       "{\"retries\":3,\"zones\":[\"a\",\"b\"]}"},
      {Value(Value::List{Value(), 1, 2.0, "x", Value::Map{{"k", false}}}),
       "[null,1,2.0,\"x\",{\"k\":false}]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(c.v.ToJson(), c.json);
  }
}

TEST(ValueTest, JsonRoundTripsKeepTypes) {
  const Value values[] = {
      Value(),
      Value(true),
      Value(42),
      Value(int64_t{9223372036854775807LL}),
      Value(3.0),
      Value(0.1 + 0.2),
      Value(-1.0 / 3.0),
      Value(5e-324),
      Value(1.7976931348623157e308),
      Value("line\nbreak \"quoted\" \x7f"),
      Value(Value::Map{{"a", Value::List{1, 2.5, Value::Map{{"b", Value()}}}}, {"", "empty key"}}),
  };
  for (const Value& v : values) {
    std::string json = v.ToJson();
    SCOPED_TRACE(json);
    Result<Value> back = Value::FromJson(json);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, v);
    EXPECT_EQ(back->type(), v.type());
    EXPECT_EQ(back->ToJson(), json);
  }
}

TEST(ValueTest, FromJsonAcceptsStandardJson) {
  struct Case {
    std::string json;
    Value want;
  } cases[] = {
      {" { \"b\" : [ 1 , -2 , 3.5e1 ] , \"a\" : null } ",
       Value::Map{{"a", Value()}, {"b", Value::List{1, -2, 35.0}}}},
      {"\"\\u00e9\\ud83d\\ude00\\/\"", Value("\xc3\xa9\xf0\x9f\x98\x80/")},
      {"-0.0", Value(-0.0)},
      {"1E2", Value(100.0)},
      {"99999999999999999999", Value(1e20)},
      {"[[],{}]", Value::List{Value::List{}, Value::Map{}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    Result<Value> v = Value::FromJson(c.json);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(*v, c.want);
  }
}

TEST(ValueTest, FromJsonRejectsBadTextNamingTheOffset) {
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {"", "json: offset 0: unexpected end of input"},
      {"[1,]", "json: offset 3: unexpected character ']'"},
      {"{\"a\":1,\"a\":2}", "json: offset 7: duplicate key \"a\""},
      {"{\"a\" 1}", "json: offset 5: expected ':'"},
      {"{1:2}", "json: offset 1: expected a string key"},
      {"[1 2]", "json: offset 3: expected ',' or ']'"},
      {"\"abc", "json: offset 4: unterminated string"},
      {"\"a\nb\"", "json: offset 2: control character in string"},
      {"\"\\x\"", "json: offset 2: bad escape"},
      {"\"\\ud800\"", "json: offset 7: unpaired surrogate"},
      {"01", "json: offset 0: leading zero in number"},
      {"1.", "json: offset 2: bad number: no digits after '.'"},
      {"1e999", "json: offset 0: number out of range"},
      {"tru", "json: offset 0: invalid literal"},
      {"1 2", "json: offset 2: trailing characters after the value"},
      {"NaN", "json: offset 0: unexpected character 'N'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    Result<Value> v = Value::FromJson(c.json);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(), c.message);
  }
}

TEST(ValueTest, FromJsonCapsNesting) {
  std::string deep(100000, '[');
  Result<Value> v = Value::FromJson(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "json: offset 256: nesting deeper than 256");

  std::string ok_depth = std::string(200, '[') + std::string(200, ']');
  EXPECT_TRUE(Value::FromJson(ok_depth).ok());
}

TEST(ValueTest, FindLooksUpMapMembersOnly) {
  Value m = Value::Map{{"a", 1}};
  ASSERT_NE(m.Find("a"), nullptr);
  EXPECT_EQ(*m.Find("a"), Value(1));
  EXPECT_EQ(m.Find("b"), nullptr);
  EXPECT_EQ(Value(Value::List{"a"}).Find("a"), nullptr);
  EXPECT_EQ(Value("a").Find("a"), nullptr);
}

TEST(ValueTest, ToTextIsStringAsIsNullEmptyElseJson) {
  struct Case {
    Value v;
    std::string text;
  } cases[] = {
      {Value("plain \"x\""), "plain \"x\""},
      {Value(), ""},
      {Value(7), "7"},
      {Value(2.0), "2.0"},
      {Value(true), "true"},
      {Value(Value::List{"a", 1}), "[\"a\",1]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(c.v.ToText(), c.text);
  }
}

TEST(ValueTest, IntAndDoubleAreDifferentValues) {
  EXPECT_FALSE(Value(1) == Value(1.0));
  EXPECT_EQ(Value(1).as_double(), 1.0);
  EXPECT_TRUE(Value(1).is_number());
  EXPECT_TRUE(Value(1.5).is_number());
}

TEST(ValueTest, TypeNames) {
  EXPECT_EQ(Value::TypeName(Value::Type::kNull), "null");
  EXPECT_EQ(Value::TypeName(Value::Type::kInt), "int");
  EXPECT_EQ(Value::TypeName(Value::Type::kMap), "map");
  EXPECT_EQ(Value::TypeName(Value(Value::List{}).type()), "list");
}

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string("a\0b", 3)).size(), 64u);
}

}  // namespace
}  // namespace brfed
