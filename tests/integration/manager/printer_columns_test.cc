// `kubectl get vbk -o wide` against the kube-sim control plane shows upstream's printer
// columns (FEDERATION_PROTOCOL §3.9) filled with what the manager wrote.

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "kube/resource.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

constexpr char kKubectl[] = "/usr/bin/kubectl";

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A kubectl table: each header's column starts where the header word does (kubectl pads every
// column to its widest cell), so values with spaces ("30 GB") stay whole.
std::vector<std::map<std::string, std::string>> ParseTable(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.empty()) return rows;
  const std::string& header = lines[0];
  std::vector<std::pair<std::string, size_t>> columns;
  for (size_t i = 0; i < header.size();) {
    if (header[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = header.find(' ', i);
    if (end == std::string::npos) end = header.size();
    columns.emplace_back(header.substr(i, end - i), i);
    i = end;
  }
  for (size_t l = 1; l < lines.size(); ++l) {
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < columns.size(); ++c) {
      size_t start = columns[c].second;
      size_t end = c + 1 < columns.size() ? columns[c + 1].second : std::string::npos;
      std::string cell = start < lines[l].size() ? lines[l].substr(start, end - start) : "";
      while (!cell.empty() && cell.back() == ' ') cell.pop_back();
      row[columns[c].first] = cell;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST_F(ManagerTest, KubectlGetVbkWideShowsUpstreamColumnsOfACompletedBackup) {
  ASSERT_EQ(access(kKubectl, X_OK), 0)
      << kKubectl << " is missing: this test needs kubectl to check the printer columns";
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-print"));
  json vbk = WaitPhase(kube::kVolumeBackups, "vb-print", "Complete");
  ASSERT_EQ(Phase(vbk), "Complete") << vbk.dump(2);
  const json& status = vbk["status"];
  ASSERT_FALSE(status.value("backupSizeReadable", "").empty()) << status.dump(2);
  ASSERT_FALSE(status.value("commitTs", "").empty()) << status.dump(2);
  ASSERT_FALSE(status.value("timeTaken", "").empty()) << status.dump(2);

  std::string command = std::string(kKubectl) + " --kubeconfig " + kubeconfig_path_ +
                        " --cache-dir " + dir_ + "/kubectl-cache --request-timeout=30s" +
                        " get vbk -n default -o wide";
  CommandResult r = RunCommand(command);
  ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  std::vector<std::map<std::string, std::string>> rows = ParseTable(r.output);
  ASSERT_EQ(rows.size(), 1u) << r.output;
  std::map<std::string, std::string>& row = rows[0];
  std::vector<std::string> headers;
  for (const auto& [h, v] : row) headers.push_back(h);
  EXPECT_EQ(headers, (std::vector<std::string>{"AGE", "BACKUPSIZE", "COMMITTS", "NAME", "STATUS",
                                               "TIMETAKEN"}))
      << r.output;
  EXPECT_EQ(row["NAME"], "vb-print") << r.output;
  EXPECT_EQ(row["STATUS"], "Complete") << r.output;
  EXPECT_EQ(row["BACKUPSIZE"], status["backupSizeReadable"].get<std::string>()) << r.output;
  EXPECT_EQ(row["COMMITTS"], status["commitTs"].get<std::string>()) << r.output;
  EXPECT_EQ(row["TIMETAKEN"], status["timeTaken"].get<std::string>()) << r.output;
  EXPECT_FALSE(row["AGE"].empty()) << r.output;
  EXPECT_NE(row["AGE"], "<unknown>") << r.output;
  // The column order is upstream's.
  std::string first_line = r.output.substr(0, r.output.find('\n'));
  size_t name = first_line.find("NAME"), st = first_line.find("STATUS"),
         size = first_line.find("BACKUPSIZE"), ts = first_line.find("COMMITTS"),
         taken = first_line.find("TIMETAKEN"), age = first_line.find("AGE");
  EXPECT_TRUE(name < st && st < size && size < ts && ts < taken && taken < age) << first_line;
}

}  // namespace
}  // namespace brfed::manager::testing
