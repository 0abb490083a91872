#include "proxy/hop.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/body.hpp"
#include "proxy/message.hpp"
#include "uptls/error.hpp"
#include "uptls/relay.hpp"

namespace uptls::proxy {
namespace {

[[noreturn]] void rethrow_named(const char* doing, const std::system_error& e) {
  throw Error(e.code(), std::string(doing) + ": " + e.what());
}

// What the two halves of an exchange complete with.
struct UploadDone {
  bool failed = false;
  // The client failed (it vanished, or sent a bad body): nothing more can
  // come of the exchange. Else the origin did, whose response may still come.
  bool client_failed = false;
  std::error_code code;
  std::string message;
};
struct ResponseDone {
  bool keep = false;
  // The client waited for a 100 that never came and sent nothing: its
  // body is not wanted.
  bool abandon_upload = false;
};

// When one half ends the other: a client that failed ends the response
// (nobody to give it to), a response that makes the body unwanted ends
// the upload. Otherwise each runs to its end.
struct UntilResponse {
  asio::cancellation_type_t operator()(const std::exception_ptr&, const UploadDone& done) const {
    return done.client_failed ? asio::cancellation_type::all : asio::cancellation_type::none;
  }
  asio::cancellation_type_t operator()(const std::exception_ptr& failure,
                                       const ResponseDone& done) const {
    return failure || done.abandon_upload ? asio::cancellation_type::all
                                          : asio::cancellation_type::none;
  }
};

// One exchange over one upstream connection.
class Exchange {
 public:
  Exchange(Client& client, Stream& upstream, const Incoming& in, ProxyEvent& event, bool& responded)
      : client_(client), upstream_(upstream), in_(in), event_(event), responded_(responded) {}

  // The request's head goes up, then its body and the response flow at
  // once, as clients and origins expect. An `Expect: 100-continue` body
  // goes up when the client sends it (after the origin's 100, or after the
  // client's own wait), and an origin may answer before it has read the
  // whole body: the body still goes up, unless the client was waiting for a
  // 100 that never came (then the connection closes after the response).
  asio::awaitable<bool> run(const std::string& head) {
    try {
      co_await upstream_.write_all(head);
    } catch (const std::system_error& e) {
      rethrow_named("writing to the upstream", e);
    }
    if (in_.body.kind == http::BodyKind::none) {
      ResponseDone done = co_await receive(true);
      co_return done.keep;
    }
    auto executor = co_await asio::this_coro::executor;
    auto [order, upload_failure, uploaded, response_failure, response] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(executor, upload(), asio::experimental::deferred),
            asio::co_spawn(executor, receive(false), asio::experimental::deferred))
            .async_wait(UntilResponse(), asio::use_awaitable);
    if (!response_failure) {
      // The client has its response; a body that did not all go up (the
      // client stopped sending, the origin stopped reading) ends the
      // connection, and is said in the log unless it was not wanted.
      if (uploaded.failed && !response.abandon_upload) event_.error = uploaded.message;
      co_return response.keep && !uploaded.failed;
    }
    // The upload's failure is the cause when there is one (an origin that
    // stopped reading, a client that vanished mid-body).
    if (uploaded.failed) throw Error(uploaded.code, uploaded.message);
    if (upload_failure) std::rethrow_exception(upload_failure);
    std::rethrow_exception(response_failure);
  }

 private:
  asio::awaitable<UploadDone> upload() {
    UploadDone done;
    bool writing = false;
    try {
      event_.request_bytes = 0;
      co_await copy_body_between({client_.stream, "the client", &upstream_, "the upstream"},
                                 in_.body, client_.options.limits, event_.request_bytes, writing);
    } catch (const std::system_error& e) {
      done.failed = true;
      done.client_failed = !writing;
      done.code = e.code();
      done.message =
          std::string(writing ? "writing to the upstream: " : "reading the client: ") + e.what();
    }
    co_return done;
  }

  asio::awaitable<void> send_to_client(const std::string& bytes) {
    responded_ = true;
    try {
      co_await client_.stream.write_all(bytes);
    } catch (const std::system_error& e) {
      rethrow_named("writing to the client", e);
    }
  }

  // Reads a response head; 1xx responses go on to HTTP/1.1 clients.
  // `bodiless`: the request had no body, so a 101 may end the loop.
  asio::awaitable<http::Response> read_final_head(bool bodiless, std::string& head,
                                                  bool& continued) {
    const http::Request& request = in_.request;
    http::Response response;
    for (;;) {
      try {
        head = co_await read_head(upstream_, client_.options.limits, false);
      } catch (const std::system_error& e) {
        rethrow_named("reading the upstream", e);
      }
      if (head.empty()) {
        throw Error(errc::unexpected_eof, "the upstream closed the connection without a response");
      }
      http::Outcome outcome = http::parse_response(head, response, client_.options.limits);
      if (outcome.parse != http::Parse::done) {
        throw Error(errc::protocol_error,
                    "the upstream's response is malformed: " + outcome.message);
      }
      if (response.status >= 200 || (response.status == 101 && bodiless)) co_return response;
      if (response.status == 101) {
        throw Error(errc::protocol_error, "the upstream switched protocols amid a request body");
      }
      continued = continued || response.status == 100;
      if (request.minor_version == 0) continue;
      co_await send_to_client(head);
    }
  }

  // Reads the response and copies it to the client; a 101 (a WebSocket,
  // say) becomes a relay.
  asio::awaitable<ResponseDone> receive(bool bodiless) {
    const http::Request& request = in_.request;
    std::string head;
    bool continued = false;
    http::Response response = co_await read_final_head(bodiless, head, continued);
    http::Framing response_body = http::response_framing(response, request.method);
    co_await send_to_client(head);
    event_.status = response.status;
    ResponseDone done;
    if (response.status == 101) {
      RelayOptions relay_options;
      relay_options.idle = client_.stream.timeouts().idle;
      relay_options.a_name = "the client";
      relay_options.b_name = "the upstream";
      RelayResult moved = co_await relay(client_.stream, upstream_, relay_options);
      event_.request_bytes = moved.a_to_b;
      event_.response_bytes = moved.b_to_a;
      event_.error = moved.message;
      co_return done;
    }
    co_await copy_body({upstream_, "the upstream", &client_.stream, "the client"}, response_body,
                       client_.options.limits, event_.response_bytes);
    done.keep = http::keeps_alive(request, response, response_body);
    done.abandon_upload = !bodiless && !continued && event_.request_bytes == 0 &&
                          request.fields.has_token("Expect", "100-continue");
    co_return done;
  }

  Client& client_;
  Stream& upstream_;
  const Incoming& in_;
  ProxyEvent& event_;
  bool& responded_;
};

}  // namespace

asio::awaitable<void> open_upstream(Client& client, Upstream& upstream) {
  upstream.stream.reset();
  Reach reach{upstream.target, upstream.tls, upstream.server_name, client.stream.timeouts(),
              client.stream.transport().tcp_endpoint(false)};
  upstream.stream = co_await client.shared.connect(reach);
}

asio::awaitable<bool> send_upstream(Client& client, Upstream& upstream, const Incoming& in,
                                    const std::string& head, ProxyEvent& event, bool& responded) {
  // A connection opened for this request failing is news; one that waited
  // (kept after a response, or opened ahead of the first request) may
  // just have been closed by the origin.
  bool fresh = !upstream.stream;
  if (fresh) co_await open_upstream(client, upstream);
  bool may_retry = !fresh && in.body.kind == http::BodyKind::none;
  bool stale = false;
  try {
    Exchange first(client, *upstream.stream, in, event, responded);
    co_return co_await first.run(head);
  } catch (const std::system_error&) {
    if (!may_retry || responded) throw;
    stale = true;
  }
  if (stale) co_await open_upstream(client, upstream);
  Exchange again(client, *upstream.stream, in, event, responded);
  co_return co_await again.run(head);
}

}  // namespace uptls::proxy
