// Process crash test of the manager (issue 4 §5, DESIGN §6 and §9): the real
// `br-federation-manager` binary runs a three-cluster VolumeBackup against an in-process kube-sim
// (control plane + three data planes with simulated operators, HTTPS) and is SIGKILLed right
// after its Nth journal record became durable (BRFED_CRASH_AFTER_RECORDS=N), for every N from 1
// to the number of records of an uninterrupted backup, measured first. Each time a restarted
// manager (without the failpoint) finishes the backup, and then: exactly one Backup member per
// data plane, the same final status as the uninterrupted run, and GC/PD no longer paused.
//
// One simulator serves the whole loop; each N backs up a fresh VolumeBackup (vb-<N>) with a
// fresh journal directory, so the crashed process's records are exactly that run's.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "storage/journal.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

extern char** environ;

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

// One br-federation-manager process. Killed (SIGKILL) and reaped by the destructor if still
// running.
class ManagerProcess {
 public:
  ManagerProcess() = default;
  ManagerProcess(const ManagerProcess&) = delete;
  ManagerProcess& operator=(const ManagerProcess&) = delete;
  ~ManagerProcess() {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }

  // Starts the binary with `args`, this process's environment minus the variables in `env`
  // (and minus BRFED_CRASH_AFTER_RECORDS), plus `env`; stdout and stderr go to `log`.
  bool Start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
             const std::string& log) {
    std::vector<std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string v = *e;
      std::string name = v.substr(0, v.find('='));
      if (name == "BRFED_CRASH_AFTER_RECORDS" || env.count(name)) continue;
      vars.push_back(v);
    }
    for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const std::string& v : vars) envp.push_back(const_cast<char*>(v.c_str()));
    envp.push_back(nullptr);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(fd);
    status_.reset();
    return pid_ > 0;
  }

  // Reaps the process if it has ended; its wait status then.
  std::optional<int> Poll() {
    if (status_ || pid_ <= 0) return status_;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
    return status_;
  }

  // SIGTERM (a graceful stop), waiting up to `timeout`; then SIGKILL. The wait status.
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    if (Poll()) return *status_;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!Poll() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!status_) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
      status_ = st;
      ADD_FAILURE() << "the manager ignored SIGTERM for " << timeout.count() << "s";
    }
    return *status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What must be equal between the uninterrupted and the crashed runs.
struct Outcome {
  std::string phase;
  std::vector<std::string> condition_types;
  std::set<std::string> status_fields;
  size_t backups = 0;
  bool has_commit_ts = false;

  static Outcome Of(const json& vbk) {
    Outcome o;
    o.phase = Phase(vbk);
    o.condition_types = ConditionTypes(vbk);
    const json& status = vbk.value("status", json::object());
    for (const auto& [k, v] : status.items()) o.status_fields.insert(k);
    o.backups = status.value("backups", json::array()).size();
    o.has_commit_ts = !status.value("commitTs", "").empty();
    return o;
  }
  friend bool operator==(const Outcome&, const Outcome&) = default;
  std::string ToString() const {
    std::string s = "phase " + phase + ", conditions [";
    for (const std::string& t : condition_types) s += t + " ";
    s += "], fields [";
    for (const std::string& f : status_fields) s += f + " ";
    return s + "], backups " + std::to_string(backups) + ", commitTs " +
           (has_commit_ts ? "set" : "missing");
  }
};

class ManagerCrashTest : public ManagerTest {
 protected:
  std::vector<std::string> Args(const std::string& journal) const {
    return {MANAGER_PATH,
            "-federation-kubeconfig-path=" + federation_path_,
            "-journal-dir=" + journal,
            "-health-addr=127.0.0.1:0",
            "-leader-lease-duration=4s",
            "-leader-renew-deadline=3s",
            "-leader-retry-period=100ms",
            "-kube-client-qps=1000",
            "-kube-client-burst=1000"};
  }
  std::map<std::string, std::string> Env(std::optional<uint64_t> crash_after) const {
    std::map<std::string, std::string> env = {
        {"NAMESPACE", "br-federation"}, {"KUBECONFIG", kubeconfig_path_}, {"HELM_RELEASE", ""}};
    if (crash_after) env["BRFED_CRASH_AFTER_RECORDS"] = std::to_string(*crash_after);
    return env;
  }

  // The run's records in a journal no process holds.
  uint64_t RecordsOf(const std::string& journal, const std::string& run_id) {
    JournalOptions o;
    o.dir = journal;
    o.create_if_missing = false;
    Result<std::unique_ptr<Journal>> j = OpenJournal(o);
    if (!j.ok()) {
      ADD_FAILURE() << j.status().ToString();
      return 0;
    }
    Result<std::vector<Event>> events = (*j)->ReadRun(run_id);
    if (!events.ok()) {
      ADD_FAILURE() << events.status().ToString();
      return 0;
    }
    EXPECT_TRUE(!events->empty() && events->back().type == EventType::kRunFinished &&
                events->back().final_state == RunState::kSucceeded)
        << "run " << run_id << " did not end Succeeded in " << journal;
    return events->empty() ? 0 : events->back().seq;
  }

  // Waits until vb `name` is Complete or `process` has ended. The ended wait status, if it did.
  std::optional<int> CompleteOrEnded(const std::string& name, ManagerProcess& process, json* vbk) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::optional<int> st = process.Poll()) return st;
      Result<json> obj = control()->Get(kube::kVolumeBackups, "default", name);
      if (obj.ok() && Phase(*obj) == "Complete") {
        *vbk = *obj;
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << name << " neither completed nor crashed the manager in 60s";
    return std::nullopt;
  }

  // One member per data plane, owned by the VolumeBackup, and no other object of its name.
  void ExpectOneMemberPerPlane(const json& vbk) {
    std::string uid = vbk["metadata"]["uid"];
    std::string member = "fed-" + vbk["metadata"]["name"].get<std::string>();
    for (const std::string& p : DataPlaneNames()) {
      std::vector<json> owned = OwnedMembers(*sim(), p, BackupsKey(), uid);
      ASSERT_EQ(owned.size(), 1u) << p;
      EXPECT_EQ(owned[0]["metadata"]["name"], member) << p;
      EXPECT_TRUE(protocol::IsConditionTrue(owned[0], "Complete")) << owned[0].dump(2);
    }
  }
};

TEST_F(ManagerCrashTest, KilledAfterEveryJournalRecordTheBackupStillCompletesOnce) {
  auto started = std::chrono::steady_clock::now();
  // The uninterrupted backup: its outcome and its number of records.
  Outcome baseline;
  uint64_t total = 0;
  {
    std::string journal = dir_ + "/journal-base";
    Create(kube::kVolumeBackups, Backup("vb-base"));
    ManagerProcess p;
    ASSERT_TRUE(p.Start(Args(journal), Env(std::nullopt), dir_ + "/base.log"));
    json vbk;
    std::optional<int> ended = CompleteOrEnded("vb-base", p, &vbk);
    ASSERT_FALSE(ended) << Describe(*ended) << "\n" << ReadFile(dir_ + "/base.log");
    int st = p.Stop();
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << Describe(st) << "\n"
                                                       << ReadFile(dir_ + "/base.log");
    baseline = Outcome::Of(vbk);
    ASSERT_EQ(baseline.phase, "Complete");
    ASSERT_EQ(baseline.backups, 3u);
    ASSERT_TRUE(baseline.has_commit_ts);
    ExpectOneMemberPerPlane(vbk);
    total = RecordsOf(journal, vbk["metadata"]["uid"]);
    ASSERT_GT(total, 10u);
    EXPECT_FALSE(cloud().pd.AnyPaused());
  }
  std::cerr << "uninterrupted backup: " << total << " journal records\n";

  int crashed = 0;
  for (uint64_t n = 1; n <= total; ++n) {
    SCOPED_TRACE("BRFED_CRASH_AFTER_RECORDS=" + std::to_string(n) + " of " + std::to_string(total));
    std::string name = "vb-" + std::to_string(n);
    std::string journal = dir_ + "/journal-" + std::to_string(n);
    std::string log = dir_ + "/" + name + ".log";
    Create(kube::kVolumeBackups, Backup(name));

    json vbk;
    {
      ManagerProcess first;
      ASSERT_TRUE(first.Start(Args(journal), Env(n), log));
      std::optional<int> ended = CompleteOrEnded(name, first, &vbk);
      if (!ended) {
        // This run journaled fewer than N records (how many Observed records a run writes
        // depends on timing), so it completed uncrashed.
        ASSERT_EQ(Phase(vbk), "Complete") << ReadFile(log);
        int st = first.Stop();
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << Describe(st) << "\n" << ReadFile(log);
        ASSERT_LT(RecordsOf(journal, vbk["metadata"]["uid"]), n)
            << "completed without crashing although N records existed";
      } else {
        ASSERT_TRUE(WIFSIGNALED(*ended) && WTERMSIG(*ended) == SIGKILL) << Describe(*ended) << "\n"
                                                                        << ReadFile(log);
        ++crashed;
        ManagerProcess second;
        ASSERT_TRUE(second.Start(Args(journal), Env(std::nullopt), log + ".restart"));
        std::optional<int> again = CompleteOrEnded(name, second, &vbk);
        ASSERT_FALSE(again) << "the restarted manager ended: " << Describe(*again) << "\n"
                            << ReadFile(log + ".restart");
        int st = second.Stop();
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << Describe(st) << "\n"
                                                           << ReadFile(log + ".restart");
        EXPECT_GE(RecordsOf(journal, vbk["metadata"]["uid"]), n)
            << "the records before the crash are all kept";
      }
    }
    Outcome got = Outcome::Of(vbk);
    EXPECT_EQ(got, baseline) << "crashed: " << got.ToString()
                             << "\nuninterrupted: " << baseline.ToString();
    ExpectOneMemberPerPlane(vbk);
    EXPECT_FALSE(cloud().pd.AnyPaused()) << cloud().pd.ToJson().dump(2);
    if (HasFailure()) break;  // one broken N is enough to debug (BRFED_E2E_KEEP=1 keeps it)
    std::error_code ec;
    std::filesystem::remove_all(journal, ec);
  }
  // Every backup paused GC exactly once.
  EXPECT_EQ(cloud().pd.Get("tidb-cluster/basic").pause_count, static_cast<int64_t>(total + 1));
  EXPECT_GT(crashed, 0);
  std::cerr << "crashed and resumed " << crashed << " of " << total << " times in "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                started)
                   .count()
            << "s\n";
}

}  // namespace
}  // namespace brfed::manager::testing
