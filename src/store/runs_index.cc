#include "src/store/runs_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <nlohmann/json.hpp>

#include "src/store/key_format.h"

namespace batchlog::store {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMetaBytesMax = 1024 * 1024;

std::atomic<std::uint64_t> temp_counter{0};

std::string ErrnoText(int error) { return std::strerror(error); }

// Closes a file descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

base::Status WriteAll(int fd, std::string_view contents, const fs::path& path) {
  while (!contents.empty()) {
    const ssize_t written = ::write(fd, contents.data(), contents.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      const std::string message = "writing " + path.string() + ": " + ErrnoText(error);
      return error == ENOSPC ? base::ResourceExhaustedError(message) : base::InternalError(message);
    }
    contents.remove_prefix(static_cast<std::size_t>(written));
  }
  return base::Status::Ok();
}

}  // namespace

base::Status WriteFileAtomically(const fs::path& path, std::string_view contents) {
  const fs::path dir = path.parent_path();
  const fs::path temp = dir / ("." + path.filename().string() + ".tmp-" +
                               std::to_string(::getpid()) + "-" + std::to_string(temp_counter++));
  base::Status status;
  {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      return base::InternalError("creating " + temp.string() + ": " + ErrnoText(errno));
    }
    status = WriteAll(fd.get(), contents, temp);
    if (status.ok() && ::fsync(fd.get()) != 0) {
      status = base::InternalError("syncing " + temp.string() + ": " + ErrnoText(errno));
    }
    if (status.ok() && ::close(fd.Release()) != 0) {
      status = base::InternalError("closing " + temp.string() + ": " + ErrnoText(errno));
    }
  }
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = base::InternalError("renaming " + temp.string() + " to " + path.string() + ": " +
                                 ErrnoText(errno));
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  // The rename is durable only once the directory entry is.
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return base::InternalError("syncing directory " + dir.string() + ": " + ErrnoText(errno));
  }
  return base::Status::Ok();
}

base::Result<std::string> ReadSmallFile(const fs::path& path, std::size_t bytes_max) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) return base::NotFoundError(path.string() + " does not exist");
    return base::InternalError("opening " + path.string() + ": " + ErrnoText(error));
  }
  std::string contents;
  char buffer[4096];
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return base::InternalError("reading " + path.string() + ": " + ErrnoText(errno));
    }
    if (got == 0) break;
    contents.append(buffer, static_cast<std::size_t>(got));
    if (contents.size() > bytes_max) {
      return base::FailedPreconditionError(path.string() + " is larger than " +
                                           std::to_string(bytes_max) + " bytes");
    }
  }
  return contents;
}

std::string EncodeRunMetadata(const RunMetadata& metadata) {
  nlohmann::ordered_json json;
  json["run_id"] = metadata.run_id;
  json["run_name"] = metadata.run_name;
  json["created_at_unix_us"] = metadata.created_at_unix_us;
  json["schema_version"] = metadata.schema_version;
  json["status"] = metadata.status;
  json["last_seq"] = metadata.last_seq;
  json["updated_at_unix_us"] = metadata.updated_at_unix_us;
  json["synced_seq"] = metadata.synced_seq;
  // Replace invalid UTF-8 instead of throwing: names come from workflow files.
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

base::Result<RunMetadata> DecodeRunMetadata(std::string_view text, std::string_view origin) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return base::DataLossError(std::string(origin) + " is not a JSON object");
  }
  try {
    RunMetadata metadata;
    metadata.run_id = json.at("run_id").get<std::string>();
    metadata.run_name = json.value("run_name", std::string());
    metadata.created_at_unix_us = json.value("created_at_unix_us", std::int64_t{0});
    metadata.schema_version = json.value("schema_version", std::uint32_t{0});
    metadata.status = json.value("status", std::string());
    metadata.last_seq = json.value("last_seq", std::uint64_t{0});
    metadata.updated_at_unix_us = json.value("updated_at_unix_us", std::int64_t{0});
    metadata.synced_seq = json.value("synced_seq", std::uint64_t{0});
    return metadata;
  } catch (const nlohmann::json::exception& e) {
    return base::DataLossError(std::string(origin) + ": " + e.what());
  }
}

fs::path RunsIndex::MetaPath(const fs::path& run_dir) {
  return run_dir / key_format::kRunMetaFileName;
}

base::Result<RunMetadata> RunsIndex::Read(std::string_view run_id) const {
  const fs::path path = MetaPath(RunDir(run_id));
  BATCHLOG_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMetaBytesMax));
  BATCHLOG_ASSIGN_OR_RETURN(RunMetadata metadata, DecodeRunMetadata(text, path.string()));
  if (metadata.run_id != run_id) {
    return base::DataLossError(path.string() + " names run '" + metadata.run_id + "'");
  }
  return metadata;
}

base::Status RunsIndex::WriteIn(const fs::path& run_dir, const RunMetadata& metadata) {
  return WriteFileAtomically(MetaPath(run_dir), EncodeRunMetadata(metadata));
}

base::Result<std::vector<RunMetadata>> RunsIndex::List() const {
  std::vector<RunMetadata> runs;
  std::error_code ec;
  fs::directory_iterator it(runs_dir_, ec);
  if (ec) {
    return base::InternalError("listing " + runs_dir_.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return base::InternalError("listing " + runs_dir_.string() + ": " + ec.message());
    const std::string name = it->path().filename().string();
    if (!ValidateRunId(name).ok()) continue;
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) continue;
    base::Result<RunMetadata> metadata = Read(name);
    if (metadata.ok()) {
      runs.push_back(std::move(metadata).value());
    } else {
      RunMetadata broken;
      broken.run_id = name;
      broken.schema_version = 0;
      broken.status = "unreadable: " + metadata.status().message();
      runs.push_back(std::move(broken));
    }
  }
  std::sort(runs.begin(), runs.end(), [](const RunMetadata& a, const RunMetadata& b) {
    if (a.created_at_unix_us != b.created_at_unix_us) {
      return a.created_at_unix_us < b.created_at_unix_us;
    }
    return a.run_id < b.run_id;
  });
  return runs;
}

}  // namespace batchlog::store
