#include "src/orchestrator/manifest_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace batchlog::orchestrator {
namespace {

base::Status Errno(std::string_view what, const std::filesystem::path& path) {
  const int error = errno;
  std::string message = std::string(what) + " " + path.string() + ": " + std::strerror(error);
  if (error == ENOSPC || error == EDQUOT) return base::ResourceExhaustedError(message);
  return base::UnavailableError(message);
}

}  // namespace

base::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path temp = path.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", temp);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      base::Status status = Errno("cannot write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return status;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    base::Status status = Errno("cannot fsync", temp);
    ::close(fd);
    ::unlink(temp.c_str());
    return status;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) return Errno("cannot rename onto", path);
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return base::Status::Ok();
}

}  // namespace batchlog::orchestrator
