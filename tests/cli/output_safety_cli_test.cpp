// What `convert` and `synth` may delete and leave behind, and the flags checked before the long
// work (issue 19): --force never deletes the input or a file tightfit did not write, Ctrl-C and
// SIGTERM remove the unfinished output (exit 130), the next run removes what a killed run left,
// output files are checked up front, and --threads is bounded the same way in every subcommand.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include "cli_test_support.h"
#include "model/test_checkpoints.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

using Result = test::CliResult;
Result run(const std::string& args) { return test::run_cli_line(args); }

const std::string kTiny = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";
const std::string kTinyConfig = kTiny + "/config.json";

// A models folder as a user has one: the input checkpoint and a file of theirs next to it.
struct ModelsFolder {
  test::TempDir tmp{"out-safety"};
  std::string models = tmp.path + "/models", hf = models + "/hf";
  std::string notes = models + "/notes.txt";
  ModelsFolder() {
    fs::create_directories(hf);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(kTiny + "/" + f, hf + "/" + f);
    test::write_file(notes, "my notes");
  }
  void expect_intact() const {
    EXPECT_EQ(test::read_file(notes), "my notes");
    EXPECT_EQ(fs::file_size(hf + "/model.safetensors"), fs::file_size(kTiny + "/model.safetensors"));
    EXPECT_TRUE(fs::exists(hf + "/config.json"));
  }
};

// A process id no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

// The hidden partial folders next to `out`.
std::vector<std::string> partial_folders(const std::string& parent) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(parent))
    if (e.path().filename().string().find(".tightfit-partial-") != std::string::npos)
      found.push_back(e.path().string());
  return found;
}

TEST(OutputSafetyCli, ConvertForceNeverDeletesTheInputOrOtherFiles) {
  ModelsFolder m;
  // The parent of the input, the input itself: refused, with or without --force.
  for (const std::string& out : {m.models, m.hf, m.models + "/"}) {
    for (const char* force : {"", " --force"}) {
      const Result r = run("convert --hf " + m.hf + " --out " + out + force + " --recipe uniform-3");
      test::expect_one_line_error(r, 2, "input");  // bad input, not a failure of the work
      m.expect_intact();
    }
  }
  // A folder holding a previous output and a file of the user's: refused even with --force.
  const std::string out = m.models + "/q3";
  ASSERT_EQ(run("convert --hf " + m.hf + " --out " + out + " --recipe uniform-3").code, 0);
  const std::string mine = test::write_file(out + "/README.md", "my model card");
  Result r = run("convert --hf " + m.hf + " --out " + out + " --force --recipe uniform-3");
  test::expect_one_line_error(r, 2, "README.md");
  EXPECT_EQ(test::read_file(mine), "my model card");
  // Without it, --force replaces the previous output.
  fs::remove(mine);
  r = run("convert --hf " + m.hf + " --out " + out + " --force --recipe uniform-3");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  m.expect_intact();
  EXPECT_TRUE(partial_folders(m.models).empty());
}

TEST(OutputSafetyCli, SynthForceNeverDeletesOtherFiles) {
  ModelsFolder m;
  // --out holding the user's files (here: the models folder): refused, nothing touched.
  const Result r = run("synth --config " + kTinyConfig + " --out " + m.models + " --force");
  test::expect_one_line_error(r, 2, "--force replaces only a previous tightfit output");
  m.expect_intact();
  const std::string out = m.models + "/synth";
  ASSERT_EQ(run("synth --config " + kTinyConfig + " --out " + out).code, 0);
  EXPECT_EQ(run("synth --config " + kTinyConfig + " --out " + out + " --force").code, 0);
  m.expect_intact();
}

// A run stopped by SIGINT or SIGTERM while writing removes its partial folder, says so and exits
// 130. The 35B preset cut to one layer writes ~600 MB: long enough to be caught in the middle.
TEST(OutputSafetyCli, AStoppedRunRemovesItsPartialFolder) {
  for (const int sig : {SIGINT, SIGTERM}) {
    test::TempDir tmp("out-stop");
    const std::string keep = test::write_file(tmp.path + "/notes.txt", "mine");
    const std::string out = tmp.path + "/m";
    test::ChildProcess child({"synth", "--config", "qwen3.5-35b-a3b", "--layers", "1", "--out", out,
                              "--threads", "1"});
    bool writing = false;  // a shard is being written in the partial folder
    for (int i = 0; i < 600 && !writing; ++i) {
      child.read_until("\x01", true, 0.05);  // keeps the pipes drained
      for (const auto& p : partial_folders(tmp.path))
        writing |= !fs::is_empty(p);
    }
    ASSERT_TRUE(writing) << child.err();
    child.signal_child(sig);
    EXPECT_EQ(child.finish(), 130) << child.err();
    EXPECT_NE(child.err().find("interrupted: removed the unfinished output"), std::string::npos)
        << child.err();
    EXPECT_TRUE(partial_folders(tmp.path).empty());
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(test::read_file(keep), "mine");
  }
}

TEST(OutputSafetyCli, TheNextRunRemovesWhatAKilledRunLeft) {
  test::TempDir tmp("out-stale");
  const std::string stale = tmp.path + "/.m.tightfit-partial-" + std::to_string(dead_pid());
  const std::string live = tmp.path + "/.m.tightfit-partial-" + std::to_string(getpid());
  for (const auto& d : {stale, live}) {
    fs::create_directories(d);
    test::write_file(d + "/model.safetensors.partial", "half");
  }
  const Result r = run("synth --config " + kTinyConfig + " --out " + tmp.path + "/m");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("removed " + stale + ", left by an interrupted run"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));  // this test process is alive: its folder is not stale
}

TEST(OutputSafetyCli, OutputFilesAreCheckedBeforeTheWork) {
  test::TempDir tmp("out-files");
  const std::string out = tmp.path + "/m", missing = tmp.path + "/no-such-folder/r.json";
  Result r = run("convert --hf " + kTiny + " --out " + out + " --recipe uniform-3 --report-json " + missing);
  test::expect_one_line_error(r, 2, "--report-json " + missing + ": the folder");
  EXPECT_EQ(r.err.find("see --help"), std::string::npos) << r.err;  // bad input, not bad flags
  EXPECT_FALSE(fs::exists(out));  // nothing converted
  r = run("convert --hf " + kTiny + " --out " + out + " --report-json " + tmp.path);
  test::expect_one_line_error(r, 2, "is a folder");
  EXPECT_FALSE(fs::exists(out));
  r = run("convert --hf " + kTiny + " --dry-run --report-json " + missing);
  test::expect_one_line_error(r, 2, "--report-json");
  test::expect_one_line_error(run("logits --model " + kTiny + " --tokens 1,2 --out " + missing), 2, "--out");
  test::expect_one_line_error(
      run("sensitivity --model " + kTiny + " --calib " + kTinyConfig + " --json " + missing), 2, "--json");
  test::expect_one_line_error(
      run("sensitivity --model " + kTiny + " --calib " + kTinyConfig + " --csv " + missing), 2, "--csv");
  test::expect_one_line_error(run("bench -m " + kTiny + " --json-out " + missing), 2, "--json-out");
}

TEST(OutputSafetyCli, ThreadsIsValidatedTheSameInEverySubcommand) {
  test::TempDir tmp("out-threads");
  for (const std::string& cmd :
       {"convert --hf " + kTiny + " --dry-run", "synth --config " + kTinyConfig + " --dry-run",
        "sensitivity --model " + kTiny + " --calib " + kTinyConfig, "bench -m " + kTiny,
        "generate --model " + kTiny + " --prompt hi", "chat --model " + kTiny,
        "logits --model " + kTiny + " --tokens 1"}) {
    for (const char* bad : {"-3", "x", "1.5"}) {
      const Result r = run(cmd + " --threads " + bad);
      EXPECT_EQ(r.code, 2) << cmd << " --threads " << bad << "\n" << r.err;
      EXPECT_NE(r.err.find("thread count"), std::string::npos) << cmd << "\n" << r.err;
    }
  }
  // Beyond the hardware threads: lowered to them, with a notice.
  const Result r = run("synth --config " + kTinyConfig + " --out " + tmp.path + "/m --threads 100000");
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string notice = "--threads 100000 is more than the " +
                             std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
                             " hardware threads";
  EXPECT_NE(r.err.find(notice), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tf
