// Our federation CRDs (deploy/crds) against the upstream ones (../shared/reference/crds): every
// property path upstream declares must exist in ours, with the same names, short names and
// printer columns; none of upstream's description text may appear in ours.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kReference = fs::path(BRFED_REFERENCE_CRDS_DIR) / "federation-crd.yaml";
const fs::path kOurs = fs::path(BRFED_SOURCE_DIR) / "deploy" / "crds";

std::vector<YAML::Node> LoadAll(const fs::path& path) {
  std::vector<YAML::Node> out;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(path.string())) {
    if (doc.IsMap() && doc["kind"] && doc["kind"].as<std::string>() == "CustomResourceDefinition") {
      out.push_back(doc);
    }
  }
  return out;
}

// Every property path below `schema`: ".spec.clusters[].tcName", maps as "{}".
void Walk(const YAML::Node& schema, const std::string& path, std::set<std::string>* out) {
  if (!schema.IsMap()) return;
  if (const YAML::Node props = schema["properties"]; props && props.IsMap()) {
    for (const auto& kv : props) {
      std::string child = path + "." + kv.first.as<std::string>();
      out->insert(child);
      Walk(kv.second, child, out);
    }
  }
  if (const YAML::Node items = schema["items"]) Walk(items, path + "[]", out);
  if (const YAML::Node extra = schema["additionalProperties"]; extra && extra.IsMap()) {
    Walk(extra, path + "{}", out);
  }
}

void Descriptions(const YAML::Node& node, std::set<std::string>* out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (kv.first.as<std::string>() == "description" && kv.second.IsScalar()) {
        out->insert(kv.second.as<std::string>());
      } else {
        Descriptions(kv.second, out);
      }
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& n : node) Descriptions(n, out);
  }
}

std::string Columns(const YAML::Node& version) {
  std::string out;
  for (const YAML::Node& c : version["additionalPrinterColumns"]) {
    out += c["name"].as<std::string>() + "|" + c["type"].as<std::string>() + "|" +
           c["jsonPath"].as<std::string>() + "|" +
           (c["priority"] ? c["priority"].as<std::string>() : "0") + "\n";
  }
  return out;
}

class FederationCrdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kReference))
        << "reference CRDs missing: expected " << kReference
        << " (the shared reference directory next to the source tree)";
    reference_ = LoadAll(kReference);
    ASSERT_EQ(reference_.size(), 3u) << kReference;
    for (const auto& entry : fs::directory_iterator(kOurs)) {
      if (entry.path().extension() != ".yaml" ||
          entry.path().filename().string().rfind("federation.pingcap.com_", 0) != 0) {
        continue;
      }
      for (const YAML::Node& crd : LoadAll(entry.path())) {
        ours_[crd["spec"]["names"]["kind"].as<std::string>()] = crd;
      }
    }
  }

  std::vector<YAML::Node> reference_;
  std::map<std::string, YAML::Node> ours_;
};

TEST_F(FederationCrdTest, OursHaveEveryUpstreamPropertyPath) {
  for (const YAML::Node& ref : reference_) {
    std::string kind = ref["spec"]["names"]["kind"].as<std::string>();
    SCOPED_TRACE(kind);
    ASSERT_TRUE(ours_.count(kind)) << "deploy/crds has no CRD of kind " << kind;
    std::set<std::string> want, have;
    Walk(ref["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "", &want);
    Walk(ours_[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "", &have);
    std::string missing;
    for (const std::string& p : want) {
      if (!have.count(p)) missing += "  " + p + "\n";
    }
    EXPECT_TRUE(missing.empty()) << kind << " lacks these property paths:\n" << missing;
  }
}

TEST_F(FederationCrdTest, NamesVersionsAndPrinterColumnsMatch) {
  for (const YAML::Node& ref : reference_) {
    std::string kind = ref["spec"]["names"]["kind"].as<std::string>();
    SCOPED_TRACE(kind);
    ASSERT_TRUE(ours_.count(kind));
    const YAML::Node ours = ours_[kind];
    EXPECT_EQ(ours["metadata"]["name"].as<std::string>(),
              ref["metadata"]["name"].as<std::string>());
    EXPECT_EQ(ours["spec"]["group"].as<std::string>(), "federation.pingcap.com");
    EXPECT_EQ(ours["spec"]["scope"].as<std::string>(), ref["spec"]["scope"].as<std::string>());
    for (const char* key : {"kind", "listKind", "plural", "singular"}) {
      EXPECT_EQ(ours["spec"]["names"][key].as<std::string>(),
                ref["spec"]["names"][key].as<std::string>())
          << key;
    }
    EXPECT_EQ(ours["spec"]["names"]["shortNames"].as<std::vector<std::string>>(),
              ref["spec"]["names"]["shortNames"].as<std::vector<std::string>>());
    ASSERT_EQ(ours["spec"]["versions"].size(), 1u);
    const YAML::Node version = ours["spec"]["versions"][0];
    EXPECT_EQ(version["name"].as<std::string>(), "v1alpha1");
    EXPECT_TRUE(version["served"].as<bool>());
    EXPECT_TRUE(version["storage"].as<bool>());
    EXPECT_FALSE(version["subresources"]["status"]) << "upstream has no status subresource";
    EXPECT_EQ(Columns(version), Columns(ref["spec"]["versions"][0]));
  }
}

TEST_F(FederationCrdTest, NoUpstreamDescriptionIsCopied) {
  std::set<std::string> upstream;
  for (const YAML::Node& ref : reference_) Descriptions(ref, &upstream);
  for (const auto& [kind, crd] : ours_) {
    std::set<std::string> ours;
    Descriptions(crd, &ours);
    for (const std::string& d : ours) {
      EXPECT_FALSE(upstream.count(d) && d.size() > 12) << kind << " copies: " << d;
    }
  }
}

}  // namespace
