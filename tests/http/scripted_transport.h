// ScriptedTransport: a Transport that answers from a script, for tests of what sits on top
// of a transport (RetryingTransport, providers). Records every request it was sent.
// Not thread-safe.
#pragma once

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "src/http/transport.h"

namespace batchlog::http::testing {

inline HttpResponse MakeResponse(int status, std::string body = {},
                                 std::vector<HttpHeader> headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  for (HttpHeader& header : headers) {
    response.headers.Add(std::move(header.name), std::move(header.value));
  }
  return response;
}

class ScriptedTransport final : public Transport {
 public:
  void Push(base::Result<HttpResponse> answer) { script_.push_back(std::move(answer)); }

  base::Result<HttpResponse> Send(const HttpRequest& request) override {
    requests_.push_back(request);
    if (script_.empty()) return base::InternalError("ScriptedTransport: script exhausted");
    base::Result<HttpResponse> answer = std::move(script_.front());
    script_.pop_front();
    return answer;
  }

  const std::vector<HttpRequest>& requests() const { return requests_; }
  std::size_t remaining() const { return script_.size(); }

 private:
  std::deque<base::Result<HttpResponse>> script_;
  std::vector<HttpRequest> requests_;
};

}  // namespace batchlog::http::testing
