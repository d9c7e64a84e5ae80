#include "src/sim/emulator.h"

#include <sys/socket.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <system_error>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/sim/anthropic_wire.h"
#include "src/sim/batch_registry.h"
#include "src/sim/openai_wire.h"
#include "src/sim/sim_clock.h"
#include "src/sim/sim_context.h"
#include "src/sim/wire_support.h"

namespace batchlog::sim {
namespace {

constexpr int kListenWaitSteps = 5000;  // x 1 ms: how long Start waits for the accept loop

std::string DefaultMessage(const httplib::Request& request, int status) {
  switch (status) {
    case 400:
      return "The request could not be parsed.";
    case 404:
      return "Unknown request URL: " + request.method + " " + request.path +
             ". Please check the URL for typos.";
    case 405:
      return "Method not allowed: " + request.method + " " + request.path + ".";
    case 413:
      return "Request too large.";
    default:
      return status >= 500 ? "The server had an error while processing your request."
                           : "HTTP " + std::to_string(status) + ".";
  }
}

base::Result<std::filesystem::path> MakeTempSpoolDir() {
  std::error_code error;
  const auto base_dir = std::filesystem::temp_directory_path(error);
  if (error) return base::UnavailableError("no temp directory: " + error.message());
  std::string pattern = (base_dir / "batchlog-sim-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return base::UnavailableError("cannot create a spool directory under " + base_dir.string());
  }
  return std::filesystem::path(pattern);
}

}  // namespace

struct Emulator::State {
  explicit State(const EmulatorOptions& opts) : options(opts) {}

  EmulatorOptions options;
  base::SystemClock system_clock;
  std::unique_ptr<SimClock> clock;
  std::filesystem::path spool_dir;
  bool owns_spool_dir = false;
  std::unique_ptr<BatchRegistry> registry;
  std::unique_ptr<SimContext> context;
  httplib::Server server;
  std::thread thread;
  bool stopped = false;
};

base::Result<std::unique_ptr<Emulator>> Emulator::Start(const EmulatorOptions& options) {
  if (!(options.time_scale > 0)) return base::InvalidArgumentError("time_scale must be > 0");
  if (options.threads < 1) return base::InvalidArgumentError("threads must be >= 1");
  if (options.port < 0 || options.port > 65535) {
    return base::InvalidArgumentError("port must be in 0..65535");
  }
  if (!options.path_prefix.empty() &&
      (options.path_prefix.front() != '/' || options.path_prefix.back() == '/')) {
    return base::InvalidArgumentError("path_prefix must start with '/' and not end with one");
  }

  // A client that disappears mid-response must not kill the process with SIGPIPE; a
  // handler someone else installed stays.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }

  auto state = std::make_unique<State>(options);
  const base::Clock& real_clock =
      options.clock != nullptr ? *options.clock : static_cast<base::Clock&>(state->system_clock);
  state->clock = std::make_unique<SimClock>(real_clock, options.time_scale);
  if (options.spool_dir.empty()) {
    BATCHLOG_ASSIGN_OR_RETURN(state->spool_dir, MakeTempSpoolDir());
    state->owns_spool_dir = true;
  } else {
    std::error_code error;
    if (!std::filesystem::is_directory(options.spool_dir, error)) {
      return base::InvalidArgumentError("spool_dir is not a directory: " +
                                        options.spool_dir.string());
    }
    state->spool_dir = options.spool_dir;
  }
  state->registry = std::make_unique<BatchRegistry>(
      *state->clock, state->options.fault_plan, options.seed, options.lifecycle, state->spool_dir);

  httplib::Server& server = state->server;
  const int threads = options.threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  // httplib's default also sets SO_REUSEPORT, which would let a second emulator share
  // (and load-balance) a port that is already taken; SO_REUSEADDR alone is enough for
  // quick restarts.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
    if (port < 0) return base::UnavailableError("cannot bind 127.0.0.1 to an ephemeral port");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    return base::UnavailableError("cannot bind 127.0.0.1:" + std::to_string(port));
  }

  state->context = std::unique_ptr<SimContext>(
      new SimContext{state->options, *state->registry, state->options.fault_plan, *state->clock,
                     options.seed, state->spool_dir, "http://127.0.0.1:" + std::to_string(port)});
  SimContext& context = *state->context;

  server.set_pre_routing_handler(
      [&context](const httplib::Request& request, httplib::Response& response) {
        const std::string& prefix = context.options.path_prefix;
        if (!prefix.empty() && request.path.size() > prefix.size() &&
            request.path.compare(0, prefix.size(), prefix) == 0 &&
            request.path[prefix.size()] == '/') {
          // httplib routes on request.path after this handler, and hands it a request it
          // owns as non-const, so rewriting the path here is the whole mount.
          const_cast<httplib::Request&>(request).path.erase(0, prefix.size());
        }
        EnsureRequestId(context, ApiOfPath(request.path), response);
        return httplib::Server::HandlerResponse::Unhandled;
      });
  // httplib calls this for every status >= 400, including the ones routes answered
  // themselves; only empty bodies (unknown routes, unparsable requests) are filled in.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [&context](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const Api api = ApiOfPath(request.path);
        EnsureRequestId(context, api, response);
        WriteDefaultError(api, response, response.status, DefaultMessage(request, response.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([&context](const httplib::Request& request,
                                          httplib::Response& response, std::exception_ptr error) {
    std::string what = "unknown error";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    const Api api = ApiOfPath(request.path);
    EnsureRequestId(context, api, response);
    WriteDefaultError(api, response, 500,
                      "The server had an error while processing your request (" + what + ").");
  });

  server.Get("/_sim/stats", [&context](const httplib::Request&, httplib::Response& response) {
    response.set_content(context.registry.StatsJson().dump(), "application/json");
  });
  server.Post("/_sim/reset", [&context](const httplib::Request&, httplib::Response& response) {
    context.registry.Reset();
    response.set_content(R"({"reset":true})", "application/json");
  });
  RegisterOpenAiRoutes(server, context);
  RegisterAnthropicRoutes(server, context);

  State* raw = state.get();
  state->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  // The socket already listens (connections queue in the backlog); wait for the accept
  // loop anyway so that Start's promise holds literally.
  for (int step = 0; step < kListenWaitSteps && !raw->server.is_running(); ++step) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!raw->server.is_running()) {
    raw->server.stop();
    raw->thread.join();
    return base::UnavailableError("the emulator's server did not start");
  }

  auto emulator = std::unique_ptr<Emulator>(new Emulator(std::move(state)));
  emulator->port_ = port;
  emulator->base_url_ = context.base_url;
  return emulator;
}

Emulator::Emulator(std::unique_ptr<State> state) : state_(std::move(state)) {}

Emulator::~Emulator() { Stop(); }

void Emulator::Stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
  state_->registry->Reset();
  if (state_->owns_spool_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(state_->spool_dir, ignored);
  }
}

}  // namespace batchlog::sim
