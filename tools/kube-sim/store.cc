#include "tools/kube-sim/store.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>

namespace brfed::kubesim {

using json = nlohmann::json;

namespace {

const ResourceKey kNamespaces{"", "v1", "namespaces"};

bool IsDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty()) return false;
    for (size_t i = 0; i < label.size(); ++i) {
      char c = label[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (!alnum && !(c == '-' && i != 0 && i + 1 != label.size())) return false;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

// The object without the parts that do not count for `generation`.
json GenerationView(const json& o, bool status_subresource) {
  json v = o;
  if (v.is_object()) {
    v.erase("metadata");
    v.erase("apiVersion");
    v.erase("kind");
    if (status_subresource) v.erase("status");
  }
  return v;
}

std::set<std::string> Finalizers(const json& o) {
  std::set<std::string> out;
  if (o.contains("metadata") && o["metadata"].contains("finalizers") &&
      o["metadata"]["finalizers"].is_array()) {
    for (const auto& f : o["metadata"]["finalizers"]) {
      if (f.is_string()) out.insert(f.get<std::string>());
    }
  }
  return out;
}

// Base64 (URL-safe, no padding) for continue tokens.
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
std::string B64Encode(const std::string& in) {
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kB64[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kB64[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}
std::optional<std::string> B64Decode(const std::string& in) {
  std::string out;
  int val = 0, bits = -8;
  for (char ch : in) {
    if (ch == '=') break;
    const char* p = std::strchr(kB64, ch);
    if (ch == '+') p = kB64 + 62;
    if (ch == '/') p = kB64 + 63;
    if (p == nullptr || *p == '\0') return std::nullopt;
    val = (val << 6) + static_cast<int>(p - kB64);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// Normalises Lease MicroTime fields to "...ssssssZ"; 400 for what the real server rejects.
Status NormalizeLease(json& o) {
  if (!o.contains("spec") || !o["spec"].is_object()) return Status::OK();
  for (const char* f : {"acquireTime", "renewTime"}) {
    auto it = o["spec"].find(f);
    if (it == o["spec"].end() || it->is_null()) continue;
    if (!it->is_string()) {
      return FailedPreconditionError(std::string("spec.") + f + ": expected a MicroTime string");
    }
    std::string s = it->get<std::string>();
    auto tp = ParseTime(s);
    size_t dot = s.find('.');
    size_t frac = 0;
    if (dot != std::string::npos) {
      while (dot + 1 + frac < s.size() && std::isdigit(static_cast<unsigned char>(s[dot + 1 + frac])))
        ++frac;
    }
    if (!tp || frac != 6) {
      return FailedPreconditionError("Lease in version \"v1\" cannot be handled as a Lease: "
                                     "parsing time \"" + s + "\" as MicroTime: bad format");
    }
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      tp->time_since_epoch()).count() % 1000000;
    if (micros < 0) micros += 1000000;
    std::string base = FormatTime(*tp);  // ...SSZ
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(micros));
    *it = base.substr(0, base.size() - 1) + buf + "Z";
  }
  return Status::OK();
}

}  // namespace

struct Store::Impl {
  struct Sub {
    std::recursive_mutex mu;
    bool cancelled = false;
    ResourceKey key;
    Callback callback;
  };
  struct SubRegistry {
    std::mutex mu;
    std::vector<std::shared_ptr<Sub>> subs;
  };
  class SubscriptionImpl final : public Subscription {
   public:
    SubscriptionImpl(std::weak_ptr<SubRegistry> reg, std::shared_ptr<Sub> sub)
        : reg_(std::move(reg)), sub_(std::move(sub)) {}
    ~SubscriptionImpl() override {
      {
        std::lock_guard<std::recursive_mutex> l(sub_->mu);
        sub_->cancelled = true;
      }
      if (auto reg = reg_.lock()) {
        std::lock_guard<std::mutex> l(reg->mu);
        std::erase(reg->subs, sub_);
      }
    }

   private:
    std::weak_ptr<SubRegistry> reg_;
    std::shared_ptr<Sub> sub_;
  };

  using GroupResource = std::pair<std::string, std::string>;  // (group, plural)
  using ObjectId = std::pair<std::string, std::string>;       // (namespace, name)

  Options options;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::map<ResourceKey, ResourceInfo> resources;
  std::map<GroupResource, std::map<ObjectId, json>> objects;
  uint64_t rv = 1;
  std::deque<WatchEvent> history;
  uint64_t compacted_rv = 1;  // events with rv <= this are gone
  std::deque<WatchEvent> undelivered;

  std::shared_ptr<SubRegistry> registry = std::make_shared<SubRegistry>();
  std::mutex dispatch_mu;

  std::chrono::system_clock::time_point Now() const {
    return options.now ? options.now() : std::chrono::system_clock::now();
  }

  const ResourceInfo* FindLocked(const ResourceKey& key) const {
    auto it = resources.find(key);
    return it == resources.end() ? nullptr : &it->second;
  }

  Status NotFoundObject(const ResourceKey& key, const std::string& name) const {
    return NotFoundError(key.GroupResource() + " \"" + name + "\" not found");
  }

  // Stamps apiVersion/kind of the requested version.
  static void Stamp(json& o, const ResourceInfo& info) {
    o["apiVersion"] = info.key.GroupVersion();
    o["kind"] = info.kind;
  }

  void RecordLocked(WatchEvent ev) {
    bool has_subs;
    {
      std::lock_guard<std::mutex> l(registry->mu);
      has_subs = !registry->subs.empty();
    }
    if (has_subs) undelivered.push_back(ev);
    history.push_back(std::move(ev));
    while (history.size() > options.history_limit && !history.empty()) {
      compacted_rv = history.front().resource_version;
      history.pop_front();
    }
    cv.notify_all();
  }

  static thread_local bool in_dispatch;

  void Dispatch() {
    if (in_dispatch) return;  // the outer loop on this thread delivers it
    while (true) {
      if (!dispatch_mu.try_lock()) return;  // the holder rechecks after unlocking
      in_dispatch = true;
      while (true) {
        WatchEvent ev;
        {
          std::lock_guard<std::mutex> l(mu);
          if (undelivered.empty()) break;
          ev = std::move(undelivered.front());
          undelivered.pop_front();
        }
        std::vector<std::shared_ptr<Sub>> subs;
        {
          std::lock_guard<std::mutex> l(registry->mu);
          subs = registry->subs;
        }
        for (const auto& s : subs) {
          std::lock_guard<std::recursive_mutex> l(s->mu);
          if (s->cancelled) continue;
          if (!s->key.plural.empty() &&
              (s->key.group != ev.resource.group || s->key.plural != ev.resource.plural)) {
            continue;
          }
          WatchEvent copy = ev;
          if (!s->key.plural.empty()) {
            copy.resource.version = s->key.version;
            if (copy.object.is_object()) copy.object["apiVersion"] = s->key.GroupVersion();
            if (copy.old_object && copy.old_object->is_object()) {
              (*copy.old_object)["apiVersion"] = s->key.GroupVersion();
            }
          }
          s->callback(copy);
        }
      }
      in_dispatch = false;
      dispatch_mu.unlock();
      std::lock_guard<std::mutex> l(mu);
      if (undelivered.empty()) return;
    }
  }

  // Creates the Namespace object `ns` if missing (non-strict mode). REQUIRES: mu held.
  Status EnsureNamespaceLocked(const std::string& ns) {
    auto& nss = objects[{"", "namespaces"}];
    if (nss.count({"", ns})) return Status::OK();
    if (options.strict_namespaces) return NotFoundError("namespaces \"" + ns + "\" not found");
    const ResourceInfo* info = FindLocked(kNamespaces);
    if (info == nullptr) return Status::OK();
    json o = {{"apiVersion", "v1"},
              {"kind", "Namespace"},
              {"metadata", {{"name", ns}}},
              {"spec", {{"finalizers", {"kubernetes"}}}},
              {"status", {{"phase", "Active"}}}};
    InsertNewLocked(*info, "", ns, std::move(o));
    return Status::OK();
  }

  json InsertNewLocked(const ResourceInfo& info, const std::string& ns, const std::string& name,
                       json o) {
    json& md = o["metadata"];
    md["name"] = name;
    if (info.namespaced) {
      md["namespace"] = ns;
    } else {
      md.erase("namespace");
    }
    md["uid"] = NewUid();
    md["creationTimestamp"] = FormatTime(Now());
    md.erase("deletionTimestamp");
    md.erase("deletionGracePeriodSeconds");
    md.erase("selfLink");
    md.erase("managedFields");
    if (info.has_generation) {
      md["generation"] = 1;
    } else {
      md.erase("generation");
    }
    md["resourceVersion"] = std::to_string(++rv);
    Stamp(o, info);
    objects[{info.key.group, info.key.plural}][{info.namespaced ? ns : "", name}] = o;
    RecordLocked(WatchEvent{EventType::kAdded, info.key, rv, o, std::nullopt});
    return o;
  }

  // Writes `updated` over `old` (both full objects) with the update rules. REQUIRES: mu held.
  Result<json> WriteLocked(const ResourceInfo& info, const ObjectId& id, const json& old,
                           json updated, const UpdateOptions& opts) {
    const std::string& name = id.second;
    const std::string kind_group =
        info.kind + (info.key.group.empty() ? "" : "." + info.key.group);
    auto invalid = [&](const std::string& field_and_detail) {
      return InvalidArgumentError(kind_group + " \"" + name + "\" is invalid: " + field_and_detail);
    };
    if (!updated.is_object()) {
      return FailedPreconditionError("the body of the request must be a JSON object");
    }
    if (!updated.contains("metadata") || !updated["metadata"].is_object()) {
      updated["metadata"] = json::object();
    }
    json& md = updated["metadata"];
    // Identity checks.
    if (md.contains("name") && !md["name"].is_null() && md["name"] != name) {
      return FailedPreconditionError("the name of the object (" + md["name"].dump() +
                                     ") does not match the name on the URL (" + name + ")");
    }
    if (info.namespaced && md.contains("namespace") && md["namespace"].is_string() &&
        md["namespace"] != id.first && !md["namespace"].get<std::string>().empty()) {
      return FailedPreconditionError(
          "the namespace of the provided object does not match the namespace sent on the "
          "request");
    }
    if (updated.contains("apiVersion") && updated["apiVersion"].is_string() &&
        updated["apiVersion"] != info.key.GroupVersion() &&
        updated["apiVersion"].get<std::string>().rfind(info.key.group + "/", 0) != 0) {
      return FailedPreconditionError("the API version in the data (" +
                                     updated["apiVersion"].get<std::string>() +
                                     ") does not match the expected API version (" +
                                     info.key.GroupVersion() + ")");
    }
    if (updated.contains("kind") && updated["kind"].is_string() && updated["kind"] != info.kind) {
      return FailedPreconditionError("the kind in the data (" +
                                     updated["kind"].get<std::string>() +
                                     ") does not match the expected kind (" + info.kind + ")");
    }
    // Optimistic concurrency.
    const json& old_md = old["metadata"];
    std::string old_rv = old_md.value("resourceVersion", "");
    auto rv_it = md.find("resourceVersion");
    bool has_rv = rv_it != md.end() && rv_it->is_string() && !rv_it->get<std::string>().empty();
    if (!has_rv && opts.require_resource_version) {
      return invalid(
          "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
    }
    if (has_rv && rv_it->get<std::string>() != old_rv) {
      return AbortedError("Operation cannot be fulfilled on " + info.key.GroupResource() + " \"" +
                          name +
                          "\": the object has been modified; please apply your changes to the "
                          "latest version and try again");
    }
    // Status subresource rules.
    if (opts.status_subresource) {
      json status = updated.contains("status") ? updated["status"] : json();
      updated = old;
      if (status.is_null()) {
        updated.erase("status");
      } else {
        updated["status"] = status;
      }
    } else if (info.status_subresource) {
      if (old.contains("status")) {
        updated["status"] = old["status"];
      } else {
        updated.erase("status");
      }
    }
    json& nmd = updated["metadata"];
    // Server-owned metadata.
    for (const char* f : {"name", "namespace", "uid", "creationTimestamp", "generation",
                          "deletionTimestamp", "deletionGracePeriodSeconds"}) {
      if (old_md.contains(f)) {
        nmd[f] = old_md[f];
      } else {
        nmd.erase(f);
      }
    }
    nmd.erase("selfLink");
    nmd.erase("managedFields");
    nmd["resourceVersion"] = old_rv;
    for (const char* f : {"labels", "annotations", "finalizers", "ownerReferences"}) {
      if (nmd.contains(f) && nmd[f].is_null()) nmd.erase(f);
    }
    if (nmd.contains("finalizers") && nmd["finalizers"].is_array() &&
        nmd["finalizers"].empty()) {
      nmd.erase("finalizers");
    }
    Stamp(updated, info);
    if (info.key.group == "coordination.k8s.io" && info.key.plural == "leases") {
      RETURN_IF_ERROR(NormalizeLease(updated));
    }
    // Finalizers while deleting.
    bool deleting = old_md.contains("deletionTimestamp");
    if (deleting) {
      std::set<std::string> before = Finalizers(old), after = Finalizers(updated);
      std::vector<std::string> added;
      for (const auto& f : after) {
        if (!before.count(f)) added.push_back(f);
      }
      if (!added.empty()) {
        std::string list = "[]string{";
        for (size_t i = 0; i < added.size(); ++i) {
          list += (i ? ", \"" : "\"") + added[i] + "\"";
        }
        list += "}";
        return invalid(
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is "
            "being deleted, found new finalizers " + list);
      }
    }
    if (info.has_generation &&
        GenerationView(old, info.status_subresource) !=
            GenerationView(updated, info.status_subresource)) {
      nmd["generation"] = old_md.value("generation", int64_t{0}) + 1;
    }
    if (updated == old) return old;  // no-op
    auto& bucket = objects[{info.key.group, info.key.plural}];
    nmd["resourceVersion"] = std::to_string(++rv);
    if (deleting && Finalizers(updated).empty()) {
      bucket.erase(id);
      RecordLocked(WatchEvent{EventType::kDeleted, info.key, rv, updated, old});
      return updated;
    }
    bucket[id] = updated;
    RecordLocked(WatchEvent{EventType::kModified, info.key, rv, updated, old});
    return updated;
  }

  Result<std::pair<const ResourceInfo*, ObjectId>> Locate(const ResourceKey& key,
                                                          const std::string& ns,
                                                          const std::string& name) const {
    const ResourceInfo* info = FindLocked(key);
    if (info == nullptr) {
      return NotFoundError("the server could not find the requested resource");
    }
    return std::make_pair(info, ObjectId{info->namespaced ? ns : "", name});
  }

  const json* FindObjectLocked(const ResourceInfo& info, const ObjectId& id) const {
    auto b = objects.find({info.key.group, info.key.plural});
    if (b == objects.end()) return nullptr;
    auto it = b->second.find(id);
    return it == b->second.end() ? nullptr : &it->second;
  }
};

thread_local bool Store::Impl::in_dispatch = false;

Store::Store(Options options) : impl_(std::make_unique<Impl>()) {
  if (options.history_limit == 0) options.history_limit = 1;
  impl_->options = std::move(options);
  ResourceInfo ns;
  ns.key = kNamespaces;
  ns.kind = "Namespace";
  ns.list_kind = "NamespaceList";
  ns.singular = "namespace";
  ns.short_names = {"ns"};
  ns.namespaced = false;
  ns.has_generation = false;
  ns.custom = false;
  ns.verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  impl_->resources[ns.key] = ns;
}

Store::~Store() = default;

void Store::RegisterResource(const ResourceInfo& info) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->resources[info.key] = info;
}

void Store::UnregisterResource(const ResourceKey& key) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->resources.erase(key);
  bool other_version = false;
  for (const auto& [k, v] : impl_->resources) {
    other_version = other_version || (k.group == key.group && k.plural == key.plural);
  }
  if (!other_version) impl_->objects.erase({key.group, key.plural});
}

std::optional<ResourceInfo> Store::FindResource(const ResourceKey& key) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  const ResourceInfo* info = impl_->FindLocked(key);
  if (info == nullptr) return std::nullopt;
  return *info;
}

std::optional<ResourceInfo> Store::FindResource(std::string_view group,
                                                std::string_view plural) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  for (const auto& [k, v] : impl_->resources) {
    if (k.group == group && k.plural == plural) return v;
  }
  return std::nullopt;
}

std::vector<ResourceInfo> Store::Resources() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  std::vector<ResourceInfo> out;
  for (const auto& [k, v] : impl_->resources) out.push_back(v);
  return out;
}

Result<json> Store::Get(const ResourceKey& key, const std::string& ns,
                        const std::string& name) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  ASSIGN_OR_RETURN(auto loc, impl_->Locate(key, ns, name));
  const json* o = impl_->FindObjectLocked(*loc.first, loc.second);
  if (o == nullptr) return impl_->NotFoundObject(key, name);
  json out = *o;
  Impl::Stamp(out, *loc.first);
  return out;
}

Result<Store::ListResult> Store::List(const ResourceKey& key, const std::string& ns,
                                      const ListOptions& options) const {
  ASSIGN_OR_RETURN(LabelSelector ls, LabelSelector::Parse(options.label_selector));
  ASSIGN_OR_RETURN(FieldSelector fs,
                   FieldSelector::Parse(options.field_selector,
                                        key.group.empty() && key.plural == "events") );
  std::lock_guard<std::mutex> l(impl_->mu);
  const ResourceInfo* info = impl_->FindLocked(key);
  if (info == nullptr) return NotFoundError("the server could not find the requested resource");
  Impl::ObjectId start;
  bool has_start = false;
  if (!options.continue_token.empty()) {
    auto raw = B64Decode(options.continue_token);
    json tok = raw ? json::parse(*raw, nullptr, false) : json();
    if (!tok.is_object() || !tok.contains("rv") || !tok["rv"].is_number_unsigned() ||
        !tok.contains("ns") || !tok.contains("name")) {
      return FailedPreconditionError("continue key is not valid: invalid continue token");
    }
    uint64_t tok_rv = tok["rv"].get<uint64_t>();
    if (tok_rv < impl_->compacted_rv) {
      return OutOfRangeError(
          "The provided continue parameter is too old to display a consistent list result. "
          "You can start a new list without the continue parameter.");
    }
    start = {tok["ns"].get<std::string>(), tok["name"].get<std::string>()};
    has_start = true;
  }
  ListResult out;
  out.resource_version = impl_->rv;
  auto b = impl_->objects.find({key.group, key.plural});
  if (b == impl_->objects.end()) return out;
  const std::string list_ns = info->namespaced ? ns : "";
  auto it = has_start ? b->second.upper_bound(start) : b->second.begin();
  Impl::ObjectId last;
  for (; it != b->second.end(); ++it) {
    if (!list_ns.empty() && it->first.first != list_ns) continue;
    const json& o = it->second;
    if (!ls.Matches(o["metadata"].value("labels", json()))) continue;
    if (!fs.Matches(o)) continue;
    if (options.limit > 0 && static_cast<int64_t>(out.items.size()) >= options.limit) {
      ++out.remaining_item_count;
      continue;
    }
    json copy = o;
    Impl::Stamp(copy, *info);
    out.items.push_back(std::move(copy));
    last = it->first;
  }
  if (out.remaining_item_count > 0) {
    json tok = {{"rv", out.resource_version}, {"ns", last.first}, {"name", last.second}};
    out.continue_token = B64Encode(tok.dump());
  }
  return out;
}

Result<json> Store::Create(const ResourceKey& key, const std::string& ns, json object) {
  Result<json> result = [&]() -> Result<json> {
    if (!object.is_object()) {
      return FailedPreconditionError("the body of the request must be a JSON object");
    }
    std::lock_guard<std::mutex> l(impl_->mu);
    const ResourceInfo* info = impl_->FindLocked(key);
    if (info == nullptr) return NotFoundError("the server could not find the requested resource");
    if (!object.contains("metadata") || !object["metadata"].is_object()) {
      object["metadata"] = json::object();
    }
    json& md = object["metadata"];
    if (object.contains("apiVersion") && object["apiVersion"].is_string() &&
        object["apiVersion"] != key.GroupVersion()) {
      return FailedPreconditionError("the API version in the data (" +
                                     object["apiVersion"].get<std::string>() +
                                     ") does not match the expected API version (" +
                                     key.GroupVersion() + ")");
    }
    if (object.contains("kind") && object["kind"].is_string() && object["kind"] != info->kind) {
      return FailedPreconditionError("the kind in the data (" +
                                     object["kind"].get<std::string>() +
                                     ") does not match the expected kind (" + info->kind + ")");
    }
    if (info->namespaced) {
      if (ns.empty()) return FailedPreconditionError("a namespace is required for " + info->kind);
      if (md.contains("namespace") && md["namespace"].is_string() &&
          !md["namespace"].get<std::string>().empty() && md["namespace"] != ns) {
        return FailedPreconditionError(
            "the namespace of the provided object does not match the namespace sent on the "
            "request");
      }
    }
    if (md.contains("resourceVersion") && md["resourceVersion"].is_string() &&
        !md["resourceVersion"].get<std::string>().empty()) {
      return InternalError("resourceVersion should not be set on objects to be created");
    }
    std::string name = md.value("name", "");
    const std::string kind_group = info->kind + (key.group.empty() ? "" : "." + key.group);
    if (name.empty()) {
      std::string gen = md.value("generateName", "");
      if (gen.empty()) {
        return InvalidArgumentError(kind_group +
                                    " \"\" is invalid: metadata.name: Required value: name or "
                                    "generateName is required");
      }
      static const char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
      std::string suffix = NewUid();
      name = gen;
      for (int i = 0; i < 5; ++i) name += kAlnum[static_cast<unsigned char>(suffix[i]) % 27];
    }
    if (!IsDns1123Subdomain(name)) {
      return InvalidArgumentError(
          kind_group + " \"" + name + "\" is invalid: metadata.name: Invalid value: \"" + name +
          "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
          "characters, '-' or '.', and must start and end with an alphanumeric character "
          "(e.g. 'example.com', regex used for validation is "
          "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    }
    Impl::ObjectId id{info->namespaced ? ns : "", name};
    if (impl_->FindObjectLocked(*info, id) != nullptr) {
      return AlreadyExistsError(key.GroupResource() + " \"" + name + "\" already exists");
    }
    if (info->status_subresource) object.erase("status");
    for (const char* f : {"labels", "annotations", "finalizers", "ownerReferences"}) {
      if (md.contains(f) && md[f].is_null()) md.erase(f);
    }
    if (md.contains("finalizers") && md["finalizers"].is_array() && md["finalizers"].empty()) {
      md.erase("finalizers");
    }
    if (key.group == "coordination.k8s.io" && key.plural == "leases") {
      RETURN_IF_ERROR(NormalizeLease(object));
    }
    if (key == kNamespaces) {
      if (!object.contains("spec")) object["spec"] = {{"finalizers", {"kubernetes"}}};
      object["status"] = {{"phase", "Active"}};
    } else if (info->namespaced) {
      RETURN_IF_ERROR(impl_->EnsureNamespaceLocked(ns));
    }
    return impl_->InsertNewLocked(*info, ns, name, std::move(object));
  }();
  impl_->Dispatch();
  return result;
}

Result<json> Store::Update(const ResourceKey& key, const std::string& ns, const std::string& name,
                           json object, const UpdateOptions& options) {
  Result<json> result = [&]() -> Result<json> {
    std::lock_guard<std::mutex> l(impl_->mu);
    ASSIGN_OR_RETURN(auto loc, impl_->Locate(key, ns, name));
    if (options.status_subresource && !loc.first->status_subresource) {
      return NotFoundError("the server could not find the requested resource");
    }
    const json* old = impl_->FindObjectLocked(*loc.first, loc.second);
    if (old == nullptr) return impl_->NotFoundObject(key, name);
    json old_copy = *old;
    Impl::Stamp(old_copy, *loc.first);
    return impl_->WriteLocked(*loc.first, loc.second, old_copy, std::move(object), options);
  }();
  impl_->Dispatch();
  return result;
}

Result<json> Store::Mutate(const ResourceKey& key, const std::string& ns, const std::string& name,
                           const std::function<Status(json&)>& mutate, bool status_subresource) {
  Result<json> result = [&]() -> Result<json> {
    std::lock_guard<std::mutex> l(impl_->mu);
    ASSIGN_OR_RETURN(auto loc, impl_->Locate(key, ns, name));
    if (status_subresource && !loc.first->status_subresource) {
      return NotFoundError("the server could not find the requested resource");
    }
    const json* old = impl_->FindObjectLocked(*loc.first, loc.second);
    if (old == nullptr) return impl_->NotFoundObject(key, name);
    json old_copy = *old;
    Impl::Stamp(old_copy, *loc.first);
    json edited = old_copy;
    RETURN_IF_ERROR(mutate(edited));
    if (edited.is_object() && edited.contains("metadata") && edited["metadata"].is_object() &&
        edited["metadata"].contains("resourceVersion") &&
        edited["metadata"]["resourceVersion"].is_null()) {
      edited["metadata"].erase("resourceVersion");
    }
    UpdateOptions opts;
    opts.status_subresource = status_subresource;
    opts.require_resource_version = false;
    return impl_->WriteLocked(*loc.first, loc.second, old_copy, std::move(edited), opts);
  }();
  impl_->Dispatch();
  return result;
}

Result<Store::DeleteResult> Store::Delete(const ResourceKey& key, const std::string& ns,
                                          const std::string& name, const DeleteOptions& options) {
  Result<DeleteResult> result = [&]() -> Result<DeleteResult> {
    std::lock_guard<std::mutex> l(impl_->mu);
    ASSIGN_OR_RETURN(auto loc, impl_->Locate(key, ns, name));
    const ResourceInfo& info = *loc.first;
    auto& bucket = impl_->objects[{key.group, key.plural}];
    auto it = bucket.find(loc.second);
    if (it == bucket.end()) return impl_->NotFoundObject(key, name);
    json& obj = it->second;
    json& md = obj["metadata"];
    auto precondition_failed = [&](const char* what, const std::string& want,
                                   const std::string& have) {
      return AbortedError("Operation cannot be fulfilled on " + key.GroupResource() + " \"" +
                          name + "\": Precondition failed: " + what + " in precondition: " +
                          want + ", " + what + " in object meta: " + have);
    };
    if (options.precondition_uid && *options.precondition_uid != md.value("uid", "")) {
      return precondition_failed("UID", *options.precondition_uid, md.value("uid", ""));
    }
    if (options.precondition_resource_version &&
        *options.precondition_resource_version != md.value("resourceVersion", "")) {
      return precondition_failed("ResourceVersion", *options.precondition_resource_version,
                                 md.value("resourceVersion", ""));
    }
    DeleteResult out;
    if (!Finalizers(obj).empty()) {
      if (md.contains("deletionTimestamp")) {
        out.object = obj;
        Impl::Stamp(out.object, info);
        return out;
      }
      json old = obj;
      md["deletionTimestamp"] = FormatTime(impl_->Now());
      md["deletionGracePeriodSeconds"] = 0;
      if (info.has_generation) md["generation"] = md.value("generation", int64_t{0}) + 1;
      md["resourceVersion"] = std::to_string(++impl_->rv);
      Impl::Stamp(obj, info);
      impl_->RecordLocked(WatchEvent{EventType::kModified, info.key, impl_->rv, obj, old});
      out.object = obj;
      return out;
    }
    json old = obj;
    json final_state = obj;
    final_state["metadata"]["resourceVersion"] = std::to_string(++impl_->rv);
    Impl::Stamp(final_state, info);
    bucket.erase(it);
    impl_->RecordLocked(
        WatchEvent{EventType::kDeleted, info.key, impl_->rv, final_state, std::move(old)});
    if (key == kNamespaces) {
      // Namespace deletion removes its contents (there is no namespace controller).
      for (auto& [gr, objs] : impl_->objects) {
        for (auto oit = objs.begin(); oit != objs.end();) {
          if (oit->first.first != name) {
            ++oit;
            continue;
          }
          ResourceKey rk;
          for (const auto& [k, v] : impl_->resources) {
            if (k.group == gr.first && k.plural == gr.second) rk = k;
          }
          json last = oit->second;
          last["metadata"]["resourceVersion"] = std::to_string(++impl_->rv);
          impl_->RecordLocked(WatchEvent{EventType::kDeleted, rk, impl_->rv, last, oit->second});
          oit = objs.erase(oit);
        }
      }
    }
    out.object = std::move(final_state);
    out.removed = true;
    return out;
  }();
  impl_->Dispatch();
  return result;
}

bool Store::NamespaceExists(const std::string& ns) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (!impl_->options.strict_namespaces) return true;
  auto b = impl_->objects.find({"", "namespaces"});
  return b != impl_->objects.end() && b->second.count({"", ns}) > 0;
}

uint64_t Store::resource_version() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->rv;
}

Result<std::vector<WatchEvent>> Store::EventsSince(const ResourceKey& key, uint64_t after) const {
  uint64_t observed = 0;
  return EventsSince(key, after, &observed);
}

Result<std::vector<WatchEvent>> Store::EventsSince(const ResourceKey& key, uint64_t after,
                                                   uint64_t* observed) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  *observed = impl_->rv;
  if (after < impl_->compacted_rv) {
    return OutOfRangeError("too old resource version: " + std::to_string(after) + " (" +
                           std::to_string(impl_->compacted_rv + 1) + ")");
  }
  std::vector<WatchEvent> out;
  // History is sorted by rv; find the first event after `after`.
  auto it = std::lower_bound(
      impl_->history.begin(), impl_->history.end(), after + 1,
      [](const WatchEvent& e, uint64_t v) { return e.resource_version < v; });
  for (; it != impl_->history.end(); ++it) {
    if (!key.plural.empty() &&
        (it->resource.group != key.group || it->resource.plural != key.plural)) {
      continue;
    }
    out.push_back(*it);
  }
  return out;
}

uint64_t Store::WaitForChange(uint64_t after, std::chrono::steady_clock::time_point deadline,
                              const std::function<bool()>& cancelled) const {
  std::unique_lock<std::mutex> l(impl_->mu);
  impl_->cv.wait_until(l, deadline, [&] { return impl_->rv > after || (cancelled && cancelled()); });
  return impl_->rv;
}

void Store::WakeAllWaiters() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->cv.notify_all();
}

void Store::CompactHistory() {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->history.clear();
  impl_->compacted_rv = impl_->rv;
}

std::unique_ptr<Store::Subscription> Store::Subscribe(const ResourceKey& key, Callback callback) {
  auto sub = std::make_shared<Impl::Sub>();
  sub->key = key;
  sub->callback = std::move(callback);
  {
    // Taking mu first orders the subscription against writes: it sees exactly the events
    // recorded after this point.
    std::lock_guard<std::mutex> l(impl_->mu);
    std::lock_guard<std::mutex> r(impl_->registry->mu);
    impl_->registry->subs.push_back(sub);
  }
  return std::make_unique<Impl::SubscriptionImpl>(impl_->registry, std::move(sub));
}

// ---------------------------------------------------------------- built-ins

void RegisterBuiltinResources(Store* store) {
  struct B {
    const char* group;
    const char* version;
    const char* plural;
    const char* kind;
    std::vector<std::string> short_names;
    bool namespaced;
  };
  const B kBuiltins[] = {
      {"", "v1", "events", "Event", {"ev"}, true},
      {"", "v1", "serviceaccounts", "ServiceAccount", {"sa"}, true},
      {"", "v1", "secrets", "Secret", {}, true},
      {"", "v1", "configmaps", "ConfigMap", {"cm"}, true},
      {"", "v1", "pods", "Pod", {"po"}, true},
      {"", "v1", "services", "Service", {"svc"}, true},
      {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", {"pvc"}, true},
      {"", "v1", "persistentvolumes", "PersistentVolume", {"pv"}, false},
      {"", "v1", "nodes", "Node", {"no"}, false},
      {"coordination.k8s.io", "v1", "leases", "Lease", {}, true},
      {"events.k8s.io", "v1", "events", "Event", {"ev"}, true},
      {"rbac.authorization.k8s.io", "v1", "roles", "Role", {}, true},
      {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", {}, true},
      {"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", {}, false},
      {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", {}, false},
      {"apps", "v1", "deployments", "Deployment", {"deploy"}, true},
      {"apps", "v1", "statefulsets", "StatefulSet", {"sts"}, true},
      {"batch", "v1", "jobs", "Job", {}, true},
      {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       {"crd", "crds"}, false},
  };
  for (const B& b : kBuiltins) {
    ResourceInfo info;
    info.key = {b.group, b.version, b.plural};
    info.kind = b.kind;
    info.list_kind = std::string(b.kind) + "List";
    info.singular = b.kind;
    for (char& c : info.singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    info.short_names = b.short_names;
    info.namespaced = b.namespaced;
    info.has_generation = false;
    info.custom = false;
    std::string g = b.group;
    if (g == "apps" || g == "batch" || g == "apiextensions.k8s.io" ||
        g == "rbac.authorization.k8s.io") {
      info.has_generation = g != "rbac.authorization.k8s.io";
    }
    if (g == "apps" || g == "batch" || g == "apiextensions.k8s.io") info.status_subresource = true;
    store->RegisterResource(info);
  }
  ResourceInfo ssar;
  ssar.key = {"authorization.k8s.io", "v1", "selfsubjectaccessreviews"};
  ssar.kind = "SelfSubjectAccessReview";
  ssar.list_kind = "SelfSubjectAccessReviewList";
  ssar.singular = "selfsubjectaccessreview";
  ssar.namespaced = false;
  ssar.has_generation = false;
  ssar.custom = false;
  ssar.verbs = {"create"};
  store->RegisterResource(ssar);
}

// ---------------------------------------------------------------- CRDs

Result<std::vector<ResourceInfo>> ResourceInfosFromCrd(const json& crd) {
  auto need = [&](const json& o, const char* field, const std::string& where) -> Result<std::string> {
    if (!o.is_object() || !o.contains(field) || !o[field].is_string() ||
        o[field].get<std::string>().empty()) {
      return InvalidArgumentError("CustomResourceDefinition: missing " + where + field);
    }
    return o[field].get<std::string>();
  };
  if (!crd.is_object() || !crd.contains("spec")) {
    return InvalidArgumentError("CustomResourceDefinition: missing spec");
  }
  const json& spec = crd["spec"];
  ASSIGN_OR_RETURN(std::string group, need(spec, "group", "spec."));
  const json names = spec.value("names", json::object());
  ASSIGN_OR_RETURN(std::string plural, need(names, "plural", "spec.names."));
  ASSIGN_OR_RETURN(std::string kind, need(names, "kind", "spec.names."));
  ResourceInfo base;
  base.kind = kind;
  base.list_kind = names.value("listKind", kind + "List");
  base.singular = names.value("singular", "");
  if (base.singular.empty()) {
    base.singular = kind;
    for (char& c : base.singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (names.contains("shortNames") && names["shortNames"].is_array()) {
    for (const auto& s : names["shortNames"]) {
      if (s.is_string()) base.short_names.push_back(s.get<std::string>());
    }
  }
  if (names.contains("categories") && names["categories"].is_array()) {
    for (const auto& s : names["categories"]) {
      if (s.is_string()) base.categories.push_back(s.get<std::string>());
    }
  }
  base.namespaced = spec.value("scope", "Namespaced") != "Cluster";
  auto columns_from = [](const json& cols, const char* path_key) {
    std::vector<PrinterColumn> out;
    if (!cols.is_array()) return out;
    for (const auto& c : cols) {
      if (!c.is_object()) continue;
      PrinterColumn pc;
      pc.name = c.value("name", "");
      pc.type = c.value("type", "string");
      pc.format = c.value("format", "");
      pc.description = c.value("description", "");
      pc.json_path = c.value(path_key, "");
      pc.priority = c.value("priority", 0);
      out.push_back(std::move(pc));
    }
    return out;
  };
  auto has_status = [](const json& sub) {
    return sub.is_object() && sub.contains("status") && !sub["status"].is_null();
  };
  std::vector<ResourceInfo> out;
  if (spec.contains("versions") && spec["versions"].is_array() && !spec["versions"].empty()) {
    for (const auto& v : spec["versions"]) {
      ASSIGN_OR_RETURN(std::string vname, need(v, "name", "spec.versions[]."));
      if (v.contains("served") && v["served"].is_boolean() && !v["served"].get<bool>()) continue;
      ResourceInfo info = base;
      info.key = {group, vname, plural};
      info.status_subresource = has_status(v.value("subresources", json())) ||
                                has_status(spec.value("subresources", json()));
      if (v.contains("additionalPrinterColumns")) {
        info.printer_columns = columns_from(v["additionalPrinterColumns"], "jsonPath");
      } else {
        info.printer_columns = columns_from(spec.value("additionalPrinterColumns", json()),
                                            "JSONPath");
      }
      out.push_back(std::move(info));
    }
  } else {
    ASSIGN_OR_RETURN(std::string vname, need(spec, "version", "spec."));
    ResourceInfo info = base;
    info.key = {group, vname, plural};
    info.status_subresource = has_status(spec.value("subresources", json()));
    info.printer_columns =
        columns_from(spec.value("additionalPrinterColumns", json()), "JSONPath");
    out.push_back(std::move(info));
  }
  if (out.empty()) return InvalidArgumentError("CustomResourceDefinition: no served version");
  return out;
}

}  // namespace brfed::kubesim
