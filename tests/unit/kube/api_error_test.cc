#include "kube/api_error.h"

#include <gtest/gtest.h>

namespace brfed::kube {
namespace {

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
         message + R"(","reason":")" + reason + R"(","code":)" + std::to_string(code) + "}";
}

TEST(StatusFromResponseTest, MapsCodesAndReasons) {
  struct Case {
    int http;
    std::string reason;
    StatusCode want;
  } cases[] = {
      {400, "BadRequest", StatusCode::kInvalidArgument},
      {401, "Unauthorized", StatusCode::kUnauthenticated},
      {403, "Forbidden", StatusCode::kPermissionDenied},
      {404, "NotFound", StatusCode::kNotFound},
      {405, "MethodNotAllowed", StatusCode::kUnimplemented},
      {409, "AlreadyExists", StatusCode::kAlreadyExists},
      {409, "Conflict", StatusCode::kAborted},
      {409, "", StatusCode::kAborted},
      {410, "Expired", StatusCode::kOutOfRange},
      {410, "Gone", StatusCode::kOutOfRange},
      {415, "UnsupportedMediaType", StatusCode::kInvalidArgument},
      {422, "Invalid", StatusCode::kInvalidArgument},
      {429, "TooManyRequests", StatusCode::kUnavailable},
      {500, "InternalError", StatusCode::kUnavailable},
      {503, "ServiceUnavailable", StatusCode::kUnavailable},
      {504, "Timeout", StatusCode::kDeadlineExceeded},
      {302, "", StatusCode::kUnknown},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.http) + " " + c.reason);
    Status s =
        StatusFromResponse(c.http, StatusBody(c.http, c.reason, "the message"), "k8s-1: GET /x");
    EXPECT_EQ(s.code(), c.want);
    EXPECT_EQ(IsGone(s), c.http == 410);
    EXPECT_NE(s.message().find("k8s-1: GET /x: " + std::to_string(c.http)), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("the message"), std::string::npos);
  }
}

TEST(StatusFromResponseTest, NonStatusBodyKeepsAShortSnippet) {
  Status s = StatusFromResponse(502, "<html>\nbad gateway</html>", "k8s-1: GET /x");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "k8s-1: GET /x: 502: <html> bad gateway</html>");
  Status empty = StatusFromResponse(404, "", "ctx");
  EXPECT_EQ(empty.message(), "ctx: 404");
}

TEST(RetryAfterTest, ParsesSeconds) {
  EXPECT_EQ(ParseRetryAfter(" 3\r\n"), std::chrono::seconds(3));
  EXPECT_EQ(ParseRetryAfter("0"), std::chrono::seconds(0));
  EXPECT_FALSE(ParseRetryAfter(""));
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(ParseRetryAfter("-1"));
}

TEST(ScrubTest, RedactsEverySecretOccurrence) {
  EXPECT_EQ(Scrub("a s3cret b s3cret", {"s3cret"}), "a [redacted] b [redacted]");
  EXPECT_EQ(Scrub("short abc", {"abc"}), "short abc");  // too short to scrub safely
}

}  // namespace
}  // namespace brfed::kube
