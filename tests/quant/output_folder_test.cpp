// The output folder's data safety (quant/output_folder.h): --force replaces only a previous
// tightfit output and never a folder holding anything else, an --out that is or contains the
// input is refused, the partial folders of dead runs are removed and live ones kept, and a
// cancelled run removes its own. Every case keeps a file that is not tightfit's and checks it
// survives.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mlx_layout_check.h"
#include "quant/cancelled.h"
#include "quant/converter.h"
#include "quant/output_folder.h"

namespace tf {
namespace {

namespace fs = std::filesystem;
using test::ScratchDir;

const std::string kTiny = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";

ConvertOptions tiny_options(const std::string& hf, const std::string& out, bool force) {
  ConvertOptions o;
  o.hf_dir = hf;
  o.out_dir = out;
  o.recipe = Recipe::load("uniform-3");
  o.threads = 2;
  o.force = force;
  return o;
}

// A copy of the tiny Hugging Face checkpoint (bf16, safetensors format "pt") at `dir`.
void copy_input(const std::string& dir) {
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(kTiny + "/" + f, dir + "/" + f);
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A process id no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(OutputFolder, APreviousOutputIsRecognisedAndOtherFoldersAreNot) {
  ScratchDir dir("out-recognise");
  const std::string out = dir.path + "/out";
  convert_checkpoint(tiny_options(kTiny, out, false));
  EXPECT_EQ(why_not_previous_output(out), "");

  write(out + "/notes.txt", "mine");
  EXPECT_NE(why_not_previous_output(out).find("notes.txt"), std::string::npos);
  fs::remove(out + "/notes.txt");
  fs::create_directory(out + "/sub");
  EXPECT_NE(why_not_previous_output(out).find("subfolder"), std::string::npos);
  fs::remove(out + "/sub");
  fs::create_symlink(kTiny + "/config.json", out + "/tokenizer.json");
  EXPECT_NE(why_not_previous_output(out).find("not a plain file"), std::string::npos);
  fs::remove(out + "/tokenizer.json");
  EXPECT_EQ(why_not_previous_output(out), "");

  // An original checkpoint has only names tightfit writes, but its weights are not MLX layout.
  copy_input(dir.path + "/hf");
  EXPECT_NE(why_not_previous_output(dir.path + "/hf").find("\"pt\""), std::string::npos);
  // A config.json alone is no model.
  fs::create_directory(dir.path + "/cfg");
  fs::copy_file(kTiny + "/config.json", dir.path + "/cfg/config.json");
  EXPECT_NE(why_not_previous_output(dir.path + "/cfg").find("safetensors"), std::string::npos);
}

TEST(OutputFolder, ForceNeverReplacesAFolderWithOtherContent) {
  ScratchDir dir("out-force-other");
  const std::string out = dir.path + "/out";
  convert_checkpoint(tiny_options(kTiny, out, false));
  const std::string notes = write(out + "/notes.txt", "mine");
  const std::string what = message_of([&] { convert_checkpoint(tiny_options(kTiny, out, true)); });
  EXPECT_NE(what.find("notes.txt"), std::string::npos) << what;
  EXPECT_NE(what.find("move or delete"), std::string::npos) << what;
  EXPECT_TRUE(fs::exists(notes));
  EXPECT_TRUE(fs::exists(out + "/config.json"));

  // An original checkpoint given as --out, with --force: refused, kept whole.
  copy_input(dir.path + "/original");
  EXPECT_THROW(convert_checkpoint(tiny_options(kTiny, dir.path + "/original", true)),
               std::runtime_error);
  EXPECT_TRUE(fs::exists(dir.path + "/original/model.safetensors"));
  // A file as --out.
  EXPECT_THROW(convert_checkpoint(tiny_options(kTiny, notes, true)), std::runtime_error);
  EXPECT_TRUE(fs::exists(notes));
}

TEST(OutputFolder, AnOutThatIsOrContainsTheInputIsRefused) {
  ScratchDir dir("out-over-input");
  const std::string models = dir.path + "/models", hf = models + "/hf";
  copy_input(hf);
  const std::string notes = write(models + "/notes.txt", "mine");
  for (const std::string& out : {models, models + "/", hf, hf + "/../hf", dir.path}) {
    const std::string what = message_of([&] { convert_checkpoint(tiny_options(hf, out, true)); });
    EXPECT_NE(what.find("input"), std::string::npos) << out << ": " << what;
  }
  EXPECT_TRUE(fs::exists(notes));
  EXPECT_TRUE(fs::exists(hf + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(hf + "/config.json"));
  // Through a symbolic link to the parent.
  fs::create_directory_symlink(models, dir.path + "/link");
  EXPECT_THROW(convert_checkpoint(tiny_options(hf, dir.path + "/link", true)), std::runtime_error);
  EXPECT_TRUE(fs::exists(hf + "/model.safetensors"));
  // A sibling is fine.
  EXPECT_NO_THROW(convert_checkpoint(tiny_options(hf, models + "/hf-tf", true)));
}

TEST(OutputFolder, PartialFoldersOfDeadRunsAreRemovedAndLiveOnesKept) {
  ScratchDir dir("out-stale");
  const std::string out = dir.path + "/out";
  const std::string dead = dir.path + "/.out.tightfit-partial-" + std::to_string(dead_pid());
  const std::string live = dir.path + "/.out.tightfit-partial-" + std::to_string(getppid());
  const std::string other = dir.path + "/.other.tightfit-partial-" + std::to_string(dead_pid());
  for (const auto& d : {dead, live, other}) {
    fs::create_directories(d);
    write(d + "/model-00001-of-00002.safetensors.partial", "half a shard");
  }
  std::FILE* notices = std::tmpfile();
  {
    OutputFolder folder(out, false, notices);
    EXPECT_TRUE(fs::is_directory(folder.work_dir));
  }
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));   // its process may still be writing
  EXPECT_TRUE(fs::exists(other));  // another output's
  std::rewind(notices);
  char line[1024] = {};
  ASSERT_NE(std::fgets(line, sizeof line, notices), nullptr);
  EXPECT_NE(std::string(line).find("removed " + dead), std::string::npos) << line;
  std::fclose(notices);
}

TEST(OutputFolder, ACancelledRunRemovesItsPartialFolder) {
  ScratchDir dir("out-cancel");
  const std::string keep = write(dir.path + "/notes.txt", "mine");
  std::atomic<bool> cancel{true};
  ConvertOptions o = tiny_options(kTiny, dir.path + "/out", false);
  o.cancel = &cancel;
  EXPECT_THROW(convert_checkpoint(o), Cancelled);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path)) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"notes.txt"});
  EXPECT_TRUE(fs::exists(keep));
}

TEST(OutputFolder, AnOutThatCannotBeCreatedFailsBeforeAnyWork) {
  ScratchDir dir("out-unwritable");
  const std::string file = write(dir.path + "/notes.txt", "mine");
  const std::string what = message_of([&] { OutputFolder folder(file + "/out", false); });
  EXPECT_NE(what.find("choose an --out"), std::string::npos) << what;
  EXPECT_EQ(std::ifstream(file).rdbuf()->sgetc(), 'm');
}

}  // namespace
}  // namespace tf
