// Emulator: the OpenAI Batch + Anthropic Message Batches emulator as an in-process HTTP
// server on 127.0.0.1 (issue 3; docs/emulator.md). Used by `batchlog sim`, the demo, the
// tests and the benchmarks.
//
//   EmulatorOptions options;          // port 0 = ephemeral
//   options.time_scale = 1000;
//   BATCHLOG_ASSIGN_OR_RETURN(auto emulator, Emulator::Start(options));
//   // ... talk to emulator->base_url() ...
//   emulator->Stop();                 // or let the destructor stop it
//
// Routes: the OpenAI routes (openai_wire.h), the Anthropic routes (anthropic_wire.h), and
// introspection: GET /_sim/stats (BatchRegistry::StatsJson) and POST /_sim/reset (forgets
// every file, batch and counter). Every error answers in the envelope of the API the path
// belongs to, never an HTML page.
//
// Start ignores SIGPIPE process-wide (if it was SIG_DFL): a client that disappears must
// not kill the process.
//
// Ownership: the Emulator owns its server, worker threads, registry and spool directory.
// Thread-safety: port()/base_url() are safe from any thread; Stop() once from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "src/base/result.h"
#include "src/sim/emulator_options.h"

namespace batchlog::sim {

class Emulator {
 public:
  // Binds 127.0.0.1:options.port, starts serving on a background thread and returns once
  // it accepts connections. InvalidArgument for bad options (time_scale <= 0, threads < 1),
  // Unavailable if the port cannot be bound.
  static base::Result<std::unique_ptr<Emulator>> Start(const EmulatorOptions& options);

  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT".
  const std::string& base_url() const { return base_url_; }

  // Stops accepting, finishes in-flight requests, joins the threads. Idempotent.
  void Stop();

 private:
  struct State;
  explicit Emulator(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
  int port_ = 0;
  std::string base_url_;
};

}  // namespace batchlog::sim
