#include "tools/kube-sim/operator/admin.h"

#include <string>

namespace brfed::kubesim::op {
namespace {

AdminResponse Json(int status, const nlohmann::json& body) {
  AdminResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  return r;
}

AdminResponse Error(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}

AdminResponse MethodNotAllowed(const AdminRequest& req) {
  return Error(405, "method " + req.method + " not allowed on /admin/" + req.path);
}

// Parses a JSON request body; an empty body is an empty object.
Result<nlohmann::json> Body(const AdminRequest& req) {
  if (req.body.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError("request body is not JSON");
  return j;
}

std::string QueryValue(const AdminRequest& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? "" : it->second;
}

AdminResponse AddFault(DataPlaneOperator* op, const AdminRequest& req) {
  Result<nlohmann::json> body = Body(req);
  if (!body.ok()) return Error(400, body.status().message());
  Result<Fault> fault = ParseFault(*body);
  if (!fault.ok()) return Error(400, fault.status().message());
  op->AddFault(*fault);
  return Json(200, fault->ToJson());
}

AdminResponse ListFaults(DataPlaneOperator* op) {
  nlohmann::json list = nlohmann::json::array();
  for (const Fault& f : op->faults()) list.push_back(f.ToJson());
  return Json(200, {{"faults", list}});
}

}  // namespace

void AddOperatorAdminRoutes(ClusterContext& cluster, DataPlaneOperator* op, SimCloud* cloud) {
  cluster.AddAdminRoute("operator", [op](const AdminRequest& req) {
    if (req.method != "GET") return MethodNotAllowed(req);
    return Json(200, op->StateJson());
  });
  cluster.AddAdminRoute("operator/config", [op](const AdminRequest& req) {
    if (req.method == "GET") return Json(200, op->options().ToJson());
    if (req.method != "POST" && req.method != "PUT" && req.method != "PATCH") {
      return MethodNotAllowed(req);
    }
    Result<nlohmann::json> body = Body(req);
    if (!body.ok()) return Error(400, body.status().message());
    Status s = op->MergeOptions(*body);
    if (!s.ok()) return Error(400, s.message());
    return Json(200, op->options().ToJson());
  });
  cluster.AddAdminRoute("operator/fail", [op](const AdminRequest& req) {
    if (req.method == "GET") return ListFaults(op);
    if (req.method == "POST") return AddFault(op, req);
    if (req.method == "DELETE") {
      op->ClearFaults();
      return ListFaults(op);
    }
    return MethodNotAllowed(req);
  });
  cluster.AddAdminRoute("operator/fail/clear", [op](const AdminRequest& req) {
    if (req.method != "POST") return MethodNotAllowed(req);
    op->ClearFaults();
    return ListFaults(op);
  });
  cluster.AddAdminRoute("operator/pause", [cloud](const AdminRequest& req) {
    if (req.method != "GET") return MethodNotAllowed(req);
    return Json(200, cloud->pd.ToJson());
  });
  std::string plane = op->data_plane();
  cluster.AddAdminRoute("ebs/snapshots", [cloud, plane](const AdminRequest& req) {
    if (req.method != "GET") return MethodNotAllowed(req);
    bool all = QueryValue(req, "all") == "1" || QueryValue(req, "all") == "true";
    return Json(200, cloud->ebs.ToJson(all ? "" : plane));
  });
  cluster.AddAdminRoute("s3/objects", [cloud](const AdminRequest& req) {
    if (req.method != "GET") return MethodNotAllowed(req);
    return Json(200, cloud->storage.ToJson(QueryValue(req, "prefix")));
  });
}

}  // namespace brfed::kubesim::op
