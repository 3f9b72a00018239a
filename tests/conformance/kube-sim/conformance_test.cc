// Runs the kubectl and Python checklists (KUBE_API_SUBSET.md 15) against the kube-sim binary,
// started on port 0 over HTTPS with a token, and stops it afterwards.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return "popen failed";
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  size_t start = 0;
  while (start <= p.size()) {
    size_t colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

// A kube-sim child process serving testdata/sim.yaml; stopped with SIGTERM by the destructor.
class KubeSimProcess {
 public:
  explicit KubeSimProcess(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::string config = std::string(KUBESIM_CONFORMANCE_DIR) + "/testdata/sim.yaml";
      std::string kc = (dir_ / "sim.kubeconfig").string();
      std::string state = (dir_ / "state").string();
      execl(KUBESIM_BINARY, KUBESIM_BINARY, "--config", config.c_str(), "--kubeconfig-out",
            kc.c_str(), "--state-dir", state.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[1024];
    while (out != nullptr && fgets(line, sizeof line, out) != nullptr) {
      banner_ += line;
      if (std::string(line).rfind("kube-sim: ready", 0) == 0) {
        ready_ = true;
        break;
      }
    }
    // Keep the pipe open (kube-sim prints on stop) but never read again: close our end.
    if (out != nullptr) fclose(out);
  }
  ~KubeSimProcess() { Stop(); }
  // Stops kube-sim with SIGTERM; its exit code (0 after a clean stop; ASan leak reports make
  // it non-zero), or -1 if it was killed by a signal.
  int Stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }
  bool ready() const { return ready_; }
  const std::string& banner() const { return banner_; }
  fs::path kubeconfig() const { return dir_ / "sim.kubeconfig"; }
  fs::path state() const { return dir_ / "state"; }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  bool ready_ = false;
  std::string banner_;
};

fs::path TempDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() /
               ("kube-sim-conformance-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(KubeSimConformance, KubectlChecklist) {
  signal(SIGPIPE, SIG_IGN);
  std::string kubectl = std::getenv("KUBECTL") ? std::getenv("KUBECTL") : FindOnPath("kubectl");
  ASSERT_FALSE(kubectl.empty())
      << "kubectl is not on PATH (set KUBECTL=/path/to/kubectl): the kubectl conformance test "
         "needs it and does not skip";
  ASSERT_FALSE(FindOnPath("curl").empty()) << "curl is not on PATH";
  fs::path dir = TempDir("kubectl");
  {
    KubeSimProcess sim(dir);
    ASSERT_TRUE(sim.ready()) << "kube-sim did not become ready:\n" << sim.banner();
    int rc = 0;
    std::string out = Shell("CERT_KUBECONFIG=" + (sim.state() / "kubeconfig-cert-user").string() +
                              " NOSAN_KUBECONFIG=" + sim.kubeconfig().string() + " bash " +
                              std::string(KUBESIM_CONFORMANCE_DIR) + "/kubectl_checklist.sh " +
                              kubectl + " " + sim.kubeconfig().string() + " " +
                              (dir / "work").string(),
                          &rc);
    std::printf("%s", out.c_str());
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("kubectl checklist: all passed"), std::string::npos);
    EXPECT_EQ(sim.Stop(), 0) << "kube-sim did not stop cleanly";
  }
  fs::remove_all(dir);
}

TEST(KubeSimConformance, PythonClientChecklist) {
  signal(SIGPIPE, SIG_IGN);
  // Debian's python3-kubernetes is only importable by Debian's own interpreter.
  const std::string python = "/usr/bin/python3";
  int rc = 0;
  std::string probe = Shell(python + " -c 'import kubernetes; print(kubernetes.__version__)'", &rc);
  ASSERT_EQ(rc, 0) << "/usr/bin/python3 cannot import kubernetes (install python3-kubernetes): "
                   << probe;
  fs::path dir = TempDir("python");
  {
    KubeSimProcess sim(dir);
    ASSERT_TRUE(sim.ready()) << "kube-sim did not become ready:\n" << sim.banner();
    // A kubeconfig whose token is wrong, for the 401 item.
    std::string kc = sim.kubeconfig().string(), bad = (dir / "bad.kubeconfig").string();
    Shell("sed s/conformance-admin-token/wrong-token/ " + kc + " > " + bad, &rc);
    std::string out = Shell(python + " " + std::string(KUBESIM_CONFORMANCE_DIR) +
                              "/python_checklist.py " + kc + " " +
                              (sim.state() / "kubeconfig-cert-user").string() + " " + bad,
                          &rc);
    std::printf("%s", out.c_str());
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("python checklist: all passed"), std::string::npos);
    EXPECT_EQ(sim.Stop(), 0) << "kube-sim did not stop cleanly";
  }
  fs::remove_all(dir);
}

}  // namespace
