#include "uptls/tls/config.hpp"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/certs.hpp"
#include "support/handshake.hpp"
#include "support/support.hpp"
#include "uptls/connect.hpp"
#include "uptls/error.hpp"
#include "uptls/server.hpp"
#include "uptls/tls/authority.hpp"

namespace uptls::tls {
namespace {

using asio::awaitable;
using test::caught;
using test::pki;
using test::run;

using test::TempFile;

/// What building threw: its code and message; empty if nothing.
test::Caught built(const std::function<void()>& build) {
  try {
    build();
  } catch (const Error& e) {
    return test::Caught(e.code(), e.what());
  }
  return {};
}

std::error_code config_error(const std::function<void()>& build) { return built(build).code; }

std::string config_message(const std::function<void()>& build) { return built(build).message; }

TEST(ServerConfig, KeyThatDoesNotMatchItsCertificateFailsWhenBuilt) {
  DevAuthority authority;
  Identity a = authority.issue({"a.example"});
  Identity b = authority.issue({"b.example"});
  ServerOptions options;
  options.identity.chain_pem = a.chain_pem;
  options.identity.key_pem = b.key_pem;
  auto build = [&] { ServerConfig::make(options); };
  EXPECT_EQ(config_error(build), errc::invalid_config);
  EXPECT_NE(config_message(build).find("does not match the certificate 'CN=a.example'"),
            std::string::npos)
      << config_message(build);
}

TEST(ServerConfig, MissingFilesAndGarbageAreClearErrors) {
  auto missing = [] { Identity::from_files("/nonexistent/cert.pem", "/nonexistent/key.pem"); };
  EXPECT_EQ(config_error(missing), errc::invalid_config);
  EXPECT_NE(config_message(missing).find("/nonexistent/cert.pem"), std::string::npos);

  ServerOptions garbage;
  garbage.identity.chain_pem = "not a certificate";
  garbage.identity.key_pem = "not a key";
  auto build = [&] { ServerConfig::make(garbage); };
  EXPECT_EQ(config_error(build), errc::invalid_config);
  EXPECT_NE(config_message(build).find("no certificate (PEM or DER) found"), std::string::npos);
}

TEST(ServerConfig, OnePemFileHoldingKeyAndChain) {
  Identity issued = pki().authority.issue({"localhost"});
  TempFile combined(issued.key_pem + issued.chain_pem);
  Identity loaded = Identity::from_pem_file(combined.path.string());
  EXPECT_NE(loaded.key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(loaded.chain_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NO_THROW(ServerConfig::make(loaded));

  TempFile cert_only(issued.chain_pem);
  auto no_key = [&] { Identity::from_pem_file(cert_only.path.string()); };
  EXPECT_EQ(config_error(no_key), errc::invalid_config);
}

TEST(ServerConfig, SeparateFiles) {
  Identity issued = pki().authority.issue({"localhost"});
  TempFile cert(issued.chain_pem);
  TempFile key(issued.key_pem);
  EXPECT_NO_THROW(ServerConfig::make(Identity::from_files(cert.path.string(), key.path.string())));
}

TEST(ClientConfig, VersionRangeMustBeOrdered) {
  ClientOptions options;
  options.trust.ca_pem = pki().authority.ca_pem();
  options.protocol.min_version = Version::tls1_3;
  options.protocol.max_version = Version::tls1_2;
  EXPECT_EQ(config_error([&] { ClientConfig::make(options); }), errc::invalid_config);
}

TEST(ClientConfig, DefaultsVerifyThePeer) {
  ClientOptions options;
  options.trust.ca_pem = pki().authority.ca_pem();
  EXPECT_TRUE(ClientConfig::make(options)->verifies_peer());
  options.verification = PeerVerification::dangerous_none;
  EXPECT_FALSE(ClientConfig::make(options)->verifies_peer());
}

TEST(ClientConfig, MissingSystemTrustStoreSaysHowToFixIt) {
  // OpenSSL's variables point the "system" store somewhere empty; the
  // variables as they were are put back afterwards.
  struct Saved {
    explicit Saved(const char* variable) : name(variable) {
      if (const char* value = std::getenv(variable)) old = value;
    }
    ~Saved() {
      if (old) {
        ::setenv(name, old->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
    const char* name;
    std::optional<std::string> old;
  } file("SSL_CERT_FILE"), dir("SSL_CERT_DIR");
  ::setenv("SSL_CERT_FILE", "/nonexistent/ca-certificates.crt", 1);
  ::setenv("SSL_CERT_DIR", "/nonexistent/certs", 1);
  std::string message = config_message([] { ClientConfig::make(); });
  EXPECT_NE(message.find("no system trust store"), std::string::npos) << message;
  EXPECT_NE(message.find("apt-get install ca-certificates"), std::string::npos) << message;
}

TEST(ClientConfig, TrustsAHashedCaDirectory) {
  run([]() -> awaitable<void> {
    // OpenSSL finds CAs in a directory by subject hash: <hash>.0, as c_rehash names them.
    auto dir =
        std::filesystem::temp_directory_path() / ("uptls-capath-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    X509* ca = test::first_cert(pki().authority.ca_pem());
    char name[16];
    std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(ca));
    X509_free(ca);
    std::ofstream(dir / name) << pki().authority.ca_pem();
    ClientOptions options;
    options.trust.ca_dirs.push_back(dir.string());
    auto trusted =
        (co_await test::handshake(pki().server, ClientConfig::make(options), "localhost"))
            .client_error;
    std::filesystem::remove_all(dir);
    EXPECT_FALSE(trusted.code) << trusted.message;

    options.trust.ca_dirs = {"/nonexistent/capath"};
    EXPECT_EQ(config_error([&] { ClientConfig::make(options); }), errc::invalid_config);
  });
}

TEST(ClientConfig, MissingCaFileIsAClearError) {
  ClientOptions options;
  options.trust.ca_files.push_back("/nonexistent/ca.pem");
  auto build = [&] { ClientConfig::make(options); };
  EXPECT_EQ(config_error(build), errc::invalid_config);
  EXPECT_NE(config_message(build).find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(Verification, HostnameMismatchSaysWhichNamesTheCertificateHolds) {
  run([]() -> awaitable<void> {
    auto result = (co_await test::handshake(pki().server, pki().client, "a.example")).client_error;
    EXPECT_EQ(result.code.category(), verify_category());
    EXPECT_EQ(result.message,
              "certificate verify failed: hostname 'a.example' not in certificate names "
              "[localhost, 127.0.0.1, ::1]");
  });
}

TEST(Verification, IpAddressIsCheckedAgainstIpNames) {
  run([]() -> awaitable<void> {
    auto ok = (co_await test::handshake(pki().server, pki().client, "127.0.0.1")).client_error;
    EXPECT_FALSE(ok.code) << ok.message;
    auto wrong = (co_await test::handshake(pki().server, pki().client, "127.0.0.2")).client_error;
    EXPECT_EQ(wrong.code.category(), verify_category());
    EXPECT_NE(wrong.message.find("IP address '127.0.0.2' not in certificate names"),
              std::string::npos)
        << wrong.message;
  });
}

TEST(Verification, UntrustedIssuerIsRefused) {
  run([]() -> awaitable<void> {
    DevAuthority other("some other CA");
    auto server = ServerConfig::make(other.issue({"localhost"}));
    auto result = (co_await test::handshake(server, pki().client, "localhost")).client_error;
    EXPECT_EQ(result.code.category(), verify_category());
    EXPECT_NE(result.message.find("issued by 'CN=some other CA'"), std::string::npos)
        << result.message;
  });
}

TEST(Verification, SkippingVerificationNeedsTheDangerousOption) {
  run([]() -> awaitable<void> {
    DevAuthority other("some other CA");
    auto server = ServerConfig::make(other.issue({"localhost"}));
    ClientOptions options;
    options.verification = PeerVerification::dangerous_none;
    auto result = (co_await test::handshake(server, ClientConfig::make(options), "wrong.example"))
                      .client_error;
    EXPECT_FALSE(result.code) << result.message;
  });
}

TEST(Alpn, ServerChoosesFromItsOwnList) {
  run([]() -> awaitable<void> {
    ServerOptions server_options;
    server_options.identity = pki().authority.issue({"localhost"});
    server_options.protocol.alpn = {"h2", "http/1.1"};
    ClientOptions client_options;
    client_options.trust.ca_pem = pki().authority.ca_pem();
    client_options.protocol.alpn = {"http/1.1", "h2"};
    auto result = co_await test::handshake(ServerConfig::make(server_options),
                                           ClientConfig::make(client_options), "localhost");
    EXPECT_FALSE(result.client_error.code) << result.client_error.message;
    EXPECT_EQ(result.server_info->alpn, "h2");
    EXPECT_EQ(result.client_info->alpn, "h2");

    client_options.protocol.alpn = {"imap"};
    auto no_overlap = (co_await test::handshake(ServerConfig::make(server_options),
                                                ClientConfig::make(client_options), "localhost"))
                          .client_error;
    EXPECT_EQ(no_overlap.code.category(), tls_category());
    EXPECT_NE(no_overlap.message.find("no application protocol"), std::string::npos)
        << no_overlap.message;
  });
}

/// Opens an implicit-TLS connection to port, reads the greeting, says whether it resumed.
awaitable<bool> resumed_connection(std::shared_ptr<const ClientConfig> config, std::uint16_t port) {
  ConnectOptions options;
  options.tls = config;
  options.server_name = "localhost";
  std::string host = "127.0.0.1";
  Stream stream = co_await open_connection(host, port, options);
  auto greeting = co_await stream.read_line();  // also reads the session tickets
  if (greeting != "hello") throw std::runtime_error("no greeting");
  bool resumed = stream.tls_info()->resumed;
  co_await stream.close();
  co_return resumed;
}

awaitable<Server> greeting_server(std::shared_ptr<const ServerConfig> config = pki().server,
                                  std::uint16_t port = 0) {
  ServeOptions serve;
  serve.tls = std::move(config);
  serve.upgradeable = false;
  Handler handler = [](Stream stream) -> awaitable<void> {
    co_await stream.write_all("hello\n");
    auto end = co_await stream.read_line();
    if (end) throw std::runtime_error("unexpected data");
    co_await stream.close();
  };
  std::string host = "127.0.0.1";
  co_return co_await start_server(handler, host, port, serve);
}

TEST(Resumption, SecondConnectionResumesByDefault) {
  run([]() -> awaitable<void> {
    Server server = co_await greeting_server();
    auto port = server.local_endpoint().port();
    ClientOptions options;
    options.trust.ca_pem = pki().authority.ca_pem();
    auto config = ClientConfig::make(options);
    bool first = co_await resumed_connection(config, port);
    EXPECT_FALSE(first);
    // Each ticket is used once; a resumed connection gets fresh ones, so
    // resumption goes on however many connections follow.
    for (int i = 2; i <= 5; ++i) {
      bool resumed = co_await resumed_connection(config, port);
      EXPECT_TRUE(resumed) << "connection " << i;
    }

    options.session_resumption = false;
    auto no_cache = ClientConfig::make(options);
    co_await resumed_connection(no_cache, port);
    bool off = co_await resumed_connection(no_cache, port);
    EXPECT_FALSE(off);
    co_await server.stop();
  });
}

TEST(Resumption, SessionsAreKeptPerServerName) {
  run([]() -> awaitable<void> {
    Server server = co_await greeting_server();
    auto port = server.local_endpoint().port();
    ClientOptions options;
    options.trust.ca_pem = pki().authority.ca_pem();
    auto config = ClientConfig::make(options);
    co_await resumed_connection(config, port);
    // The same server under another name must verify again, not resume.
    ConnectOptions by_ip;
    by_ip.tls = config;
    by_ip.server_name = "127.0.0.1";
    std::string host = "127.0.0.1";
    Stream stream = co_await open_connection(host, port, by_ip);
    auto greeting = co_await stream.read_line();
    EXPECT_EQ(greeting, "hello");
    EXPECT_FALSE(stream.tls_info()->resumed);
    co_await stream.close();
    co_await server.stop();
  });
}

/// One ticket key line, as `openssl rand -hex 80` makes.
std::string ticket_key() {
  unsigned char bytes[80];
  RAND_bytes(bytes, sizeof bytes);
  std::string hex;
  for (unsigned char b : bytes) {
    hex += "0123456789abcdef"[b >> 4];
    hex += "0123456789abcdef"[b & 15];
  }
  return hex + "\n";
}

std::shared_ptr<const ServerConfig> fleet_member(const std::string& keys_file) {
  ServerOptions options;
  options.identity = pki().authority.issue({"localhost"});
  options.ticket_keys_file = keys_file;
  return ServerConfig::make(options);
}

// Servers behind one address that share a ticket key file resume each
// other's sessions: here, one server replaced by another on the same port.
TEST(Resumption, FleetSharesTicketKeysFromAFile) {
  run([]() -> awaitable<void> {
    std::string old_key = ticket_key(), new_key = ticket_key();
    TempFile old_only(old_key), rotated(new_key + old_key), unrelated(ticket_key());
    ClientOptions options;
    options.trust.ca_pem = pki().authority.ca_pem();
    auto client = ClientConfig::make(options);

    Server first = co_await greeting_server(fleet_member(old_only.path.string()));
    std::uint16_t port = first.local_endpoint().port();
    bool fresh = co_await resumed_connection(client, port);
    co_await first.stop();
    EXPECT_FALSE(fresh);

    Server second = co_await greeting_server(fleet_member(rotated.path.string()), port);
    bool resumed = co_await resumed_connection(client, port);
    co_await second.stop();
    EXPECT_TRUE(resumed) << "the old key still decrypts after a rotation";

    Server stranger = co_await greeting_server(fleet_member(unrelated.path.string()), port);
    bool by_stranger = co_await resumed_connection(client, port);
    co_await stranger.stop();
    EXPECT_FALSE(by_stranger) << "a server without the key does a full handshake";
  });
}

TEST(Resumption, Tls12SessionIdIsKeptAcrossResumptions) {
  run([]() -> awaitable<void> {
    Server server = co_await greeting_server();
    auto port = server.local_endpoint().port();
    ClientOptions options;
    options.trust.ca_pem = pki().authority.ca_pem();
    options.protocol.max_version = Version::tls1_2;
    auto config = ClientConfig::make(options);
    bool first = co_await resumed_connection(config, port);
    bool second = co_await resumed_connection(config, port);
    bool third = co_await resumed_connection(config, port);
    EXPECT_FALSE(first);
    EXPECT_TRUE(second);
    EXPECT_TRUE(third) << "a TLS 1.2 session gets no new ticket: it is kept for reuse";
    co_await server.stop();
  });
}

TEST(Resumption, BadTicketKeyFileIsAClearError) {
  TempFile bad("not hex\n");
  try {
    fleet_member(bad.path.string());
    FAIL() << "a bad key file must not build";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 1: expected 160 hexadecimal digits"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace uptls::tls
