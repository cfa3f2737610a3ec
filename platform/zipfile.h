#pragma once
// Zip archives on disk through the file layer (env.h): the output file of a zip::Writer,
// and extraction of members a zip::Reader has validated.
#include <sys/types.h>

#include <memory>
#include <string>

#include "formats/zip.h"
#include "platform/env.h"

namespace mdb::fs {

// A new zip at `target`, written to the hidden file `.<name>.partial` beside it through the
// file layer, fsynced, and renamed onto `target` at commit. The partial file is created
// exclusively and stays locked (flock) while this object lives, so it also reserves the
// name: two processes never write the same zip, and a partial file of a killed process
// (no longer locked) is removed and its name reused. Rollback removes the partial file.
class ZipFileOutput : public zip::Output {
 public:
  // The output for `target`, or nullptr when `target` exists or another live process is
  // writing it (the caller picks another name).
  static std::unique_ptr<ZipFileOutput> reserve(const stdfs::path& target);
  // Removes the partial files of killed processes in `dir`.
  static void remove_stale_partials(const stdfs::path& dir);

  ~ZipFileOutput() override;
  // An unnamed file beside the target (never $TMPDIR: nothing outside the outputs dir is written).
  std::unique_ptr<zip::Scratch> scratch() override;
  void begin() override {}
  void write_at(uint64_t offset, std::string_view data) override;
  void commit() override;
  void rollback() noexcept override;
  std::string name() const override { return target_.string(); }
  const stdfs::path& target() const { return target_; }

 private:
  ZipFileOutput(stdfs::path target, stdfs::path partial, File file)
      : target_(std::move(target)), partial_(std::move(partial)), file_(std::move(file)) {}
  stdfs::path target_, partial_;
  File file_;
  bool committed_ = false;
};

// Extracts one member (validated by zip::Reader::validate) to `dest`, created exclusively
// with `mode`; the reader checks its actual size. With `sync`, the file is fsynced. On any
// failure `dest` is removed and the error names the zip, the member and `dest`.
void extract_member(const zip::Reader& zip, const zip::Entry& e, const stdfs::path& dest, mode_t mode = 0644,
                    bool sync = true);

}  // namespace mdb::fs
