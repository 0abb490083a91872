// An HTTPS request through a proxy that is itself reached over TLS: TLS
// with the proxy (its certificate verified for PROXY_HOST), CONNECT, then
// TLS with the origin inside that TLS (uptls::stream_transport), verified
// for ORIGIN_HOST. Prints the origin's response.
//
//   tls_in_tls PROXY_HOST PROXY_PORT PROXY_CA ORIGIN_HOST ORIGIN_PORT ORIGIN_CA

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <iostream>
#include <stdexcept>
#include <string>
#include <uptls/uptls.hpp>

std::shared_ptr<const uptls::tls::ClientConfig> trusting(const std::string& ca_file) {
  uptls::tls::ClientOptions options;
  options.trust.ca_files = {ca_file};
  return uptls::tls::ClientConfig::make(options);
}

asio::awaitable<void> fetch(std::string proxy_host, std::uint16_t proxy_port, std::string proxy_ca,
                            std::string origin_host, std::uint16_t origin_port,
                            std::string origin_ca) {
  uptls::ConnectOptions to_proxy;
  to_proxy.tls = trusting(proxy_ca);
  uptls::Stream proxy = co_await uptls::open_connection(proxy_host, proxy_port, to_proxy);
  std::cout << "proxy: " << proxy.tls_info()->version << "\n";

  std::string authority = origin_host + ":" + std::to_string(origin_port);
  auto tunnel = uptls::starttls::make_http_connect(authority, "");
  uptls::starttls::Learned answer = co_await uptls::starttls::run(proxy, *tunnel);
  std::cout << "tunnel: " << answer.greeting << "\n";

  // The origin's stream runs over the proxy's: TLS inside TLS.
  uptls::Stream origin(uptls::stream_transport(std::move(proxy), authority + " via the proxy"),
                       trusting(origin_ca), origin_host);
  co_await origin.start_tls();
  std::cout << "origin: " << origin.tls_info()->version << ", certificate "
            << origin.peer_certificate()->subject << "\n";
  co_await origin.write_all("GET / HTTP/1.1\r\nHost: " + authority +
                            "\r\nConnection: close\r\n\r\n");
  // The response's head, then its body as the head frames it: an origin may
  // close without close_notify once the body is whole.
  std::string head = co_await origin.read_until("\r\n\r\n", 64 * 1024);
  uptls::http::Response response;
  if (uptls::http::parse_response(head, response, {}).parse != uptls::http::Parse::done) {
    throw std::runtime_error("the origin's response is malformed");
  }
  std::cout << head;
  uptls::http::Framing body = uptls::http::response_framing(response, "GET");
  if (body.kind == uptls::http::BodyKind::length) {
    std::cout << co_await origin.read_exactly(static_cast<std::size_t>(body.length));
  } else if (body.kind != uptls::http::BodyKind::none) {
    throw std::runtime_error("this example reads bodies framed by Content-Length only");
  }
  co_await origin.close();
}

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: tls_in_tls PROXY_HOST PROXY_PORT PROXY_CA ORIGIN_HOST ORIGIN_PORT "
                 "ORIGIN_CA\n";
    return 2;
  }
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io,
                 fetch(argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])), argv[3], argv[4],
                       static_cast<std::uint16_t>(std::stoi(argv[5])), argv[6]),
                 [&](std::exception_ptr failure) {
                   if (!failure) return;
                   try {
                     std::rethrow_exception(failure);
                   } catch (const std::exception& e) {
                     std::cerr << "tls_in_tls: " << e.what() << "\n";
                     status = 1;
                   }
                 });
  io.run();
  return status;
}
