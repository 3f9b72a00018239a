#include <gtest/gtest.h>

#include "kube/watch.h"

namespace brfed::kube {
namespace {

TEST(WatchDecoderTest, SplitsEventsAcrossArbitraryChunks) {
  const std::string stream =
      R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"1"}}})"
      "\n"
      R"({"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"2"},"x":{"unknown":[1,2]}}})"
      "\n\n"
      R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}})"
      "\r\n"
      R"({"type":"DELETED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"8"}}})"
      "\n";
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, stream.size()}) {
    SCOPED_TRACE(chunk);
    internal::WatchDecoder d;
    std::vector<WatchEvent> got;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      ASSERT_TRUE(d.Feed(std::string_view(stream).substr(i, chunk), [&](WatchEvent&& e) {
        got.push_back(std::move(e));
        return true;
      }));
    }
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].type, WatchEventType::kAdded);
    EXPECT_EQ(KeyOf(got[0].object), "ns/a");
    EXPECT_EQ(got[1].type, WatchEventType::kModified);
    EXPECT_EQ(got[1].object["x"]["unknown"][1], 2);  // unknown fields kept
    EXPECT_EQ(got[2].type, WatchEventType::kBookmark);
    EXPECT_EQ(got[2].ResourceVersion(), "7");
    EXPECT_EQ(got[3].type, WatchEventType::kDeleted);
  }
}

TEST(WatchDecoderTest, IncompleteLastLineIsNotDelivered) {
  internal::WatchDecoder d;
  int n = 0;
  EXPECT_TRUE(d.Feed(R"({"type":"ADDED","object":{}})", [&](WatchEvent&&) { return ++n, true; }));
  EXPECT_EQ(n, 0);
}

TEST(WatchDecoderTest, MalformedLinesAreErrors) {
  for (const char* bad : {"not json\n", "[1]\n",
                          R"({"type":"WHAT","object":{}})"
                          "\n",
                          R"({"type":"ADDED"})"
                          "\n"}) {
    SCOPED_TRACE(bad);
    internal::WatchDecoder d;
    EXPECT_FALSE(d.Feed(bad, [](WatchEvent&&) { return true; }));
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(WatchDecoderTest, SinkCanStop) {
  internal::WatchDecoder d;
  int n = 0;
  std::string two = R"({"type":"ADDED","object":{}})"
                    "\n"
                    R"({"type":"ADDED","object":{}})"
                    "\n";
  EXPECT_FALSE(d.Feed(two, [&](WatchEvent&&) { return ++n, false; }));
  EXPECT_EQ(n, 1);
  EXPECT_TRUE(d.status().ok());
}

}  // namespace
}  // namespace brfed::kube
