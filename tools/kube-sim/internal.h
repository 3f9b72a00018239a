// Pieces of kube-sim shared between its .cc files: patches, Table printing, PKI, config.
// Not for use outside tools/kube-sim.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "brfed/status.h"
#include "tools/kube-sim/store.h"

namespace brfed::kubesim::internal {

// RFC 7386 JSON merge patch: null deletes, objects merge recursively, the rest replaces.
void ApplyMergePatch(nlohmann::json& target, const nlohmann::json& patch);

// RFC 6902 JSON patch. kFailedPrecondition (400) when `ops` is not a list of operations,
// kInvalidArgument (422) when an operation fails (missing path, failed test).
Status ApplyJsonPatch(nlohmann::json& target, const nlohmann::json& ops);

// Evaluates the JSONPath subset used by printer columns: .a.b, [N], [*], ['k'],
// [?(@.f=="v")], optionally wrapped in {}. Returns every match (possibly none).
std::vector<nlohmann::json> EvalJsonPath(const nlohmann::json& root, std::string_view path);

enum class IncludeObject { kNone, kMetadata, kObject };

// A meta.k8s.io/v1 Table for `objects` of `info` (KUBE_API_SUBSET.md §10).
nlohmann::json BuildTable(const ResourceInfo& info, const std::vector<nlohmann::json>& objects,
                          IncludeObject include, std::chrono::system_clock::time_point now,
                          bool with_column_definitions = true);

// In-memory PKI: a CA and certificates it signs, all as PEM.
struct CertKey {
  std::string cert_pem;
  std::string key_pem;
};
// A self-signed CA ("kube-sim-ca"), ECDSA P-256, valid for 10 years.
Result<CertKey> GenerateCa();
// A serving certificate for 127.0.0.1/localhost (no SAN at all when `with_san` is false).
Result<CertKey> IssueServerCert(const CertKey& ca, bool with_san);
// A client certificate with CN = user (and O = group if not empty).
Result<CertKey> IssueClientCert(const CertKey& ca, const std::string& user,
                                const std::string& group);

// YAML (one or more documents) to JSON values. kInvalidArgument with "file:line:col: ...".
Result<std::vector<nlohmann::json>> YamlToJson(const std::string& text, const std::string& where);

std::string Base64(const std::string& data);

// Sets the NamesAccepted and Established conditions and acceptedNames of the stored CRD `name`
// (what `kubectl wait --for condition=established` waits for). Errors are ignored: the CRD is
// served either way.
void MarkCrdEstablished(Store* store, const std::string& name);

}  // namespace brfed::kubesim::internal
