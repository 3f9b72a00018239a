#include "kube/util.h"

#include <gtest/gtest.h>

#include "kube/resource.h"

namespace brfed::kube {
namespace {

TEST(Base64Test, RoundTripsAndRejectsGarbage) {
  struct Case {
    std::string plain;
    std::string encoded;
  } cases[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.plain);
    EXPECT_EQ(internal::Base64Encode(c.plain), c.encoded);
    Result<std::string> d = internal::Base64Decode(c.encoded);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, c.plain);
  }
  EXPECT_EQ(*internal::Base64Decode("Zm9v\nYg=="), "foob");  // line-wrapped PEM-style
  EXPECT_FALSE(internal::Base64Decode("Zm9v!").ok());
  EXPECT_FALSE(internal::Base64Decode("Zg==Zg").ok());
}

TEST(Rfc3339Test, ParsesZuluOffsetsAndFractions) {
  using std::chrono::system_clock;
  auto base = internal::ParseRfc3339("2024-05-01T10:00:00Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(system_clock::to_time_t(*base), 1714557600);
  auto plus = internal::ParseRfc3339("2024-05-01T12:00:00+02:00");
  ASSERT_TRUE(plus);
  EXPECT_EQ(*plus, *base);
  auto frac = internal::ParseRfc3339("2024-05-01T10:00:00.5Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(*frac - *base).count(), 500);
  for (const char* bad : {"", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z",
                          "2024-05-01T10:00:00Zjunk", "2024-05-01T10:00:00.Z"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(internal::ParseRfc3339(bad));
  }
}

TEST(QueryEscapeTest, FormEncodesLikeGo) {
  EXPECT_EQ(internal::QueryEscape("app in (a,b)"), "app+in+%28a%2Cb%29");
  EXPECT_EQ(internal::QueryEscape("metadata.name=vb1"), "metadata.name%3Dvb1");
}

TEST(ResourceTest, BuildsPaths) {
  EXPECT_EQ(kBackups.CollectionPath("ns1"), "/apis/pingcap.com/v1alpha1/namespaces/ns1/backups");
  EXPECT_EQ(kBackups.CollectionPath(""), "/apis/pingcap.com/v1alpha1/backups");
  EXPECT_EQ(kBackups.ItemPath("ns1", "b1"), "/apis/pingcap.com/v1alpha1/namespaces/ns1/backups/b1");
  EXPECT_EQ(kNamespaces.ItemPath("ignored", "ns1"), "/api/v1/namespaces/ns1");
  EXPECT_EQ(kEvents.CollectionPath("ns1"), "/api/v1/namespaces/ns1/events");
  EXPECT_EQ(kVolumeBackups.GroupResource(), "volumebackups.federation.pingcap.com");
}

TEST(PathTest, ResolvesRelativeToDirectory) {
  EXPECT_EQ(internal::DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(internal::DirName("c"), ".");
  EXPECT_EQ(internal::ResolvePath("/a/b", "ca.crt"), "/a/b/ca.crt");
  EXPECT_EQ(internal::ResolvePath("/a/b", "/etc/ca.crt"), "/etc/ca.crt");
  EXPECT_EQ(internal::ResolvePath("/a/b", ""), "");
}

}  // namespace
}  // namespace brfed::kube
