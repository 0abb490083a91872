#include "uptls/starttls.hpp"

#include <memory>
#include <utility>

#include "starttls/ftp.hpp"
#include "starttls/http_upgrade.hpp"
#include "starttls/imap.hpp"
#include "starttls/irc.hpp"
#include "starttls/ldap.hpp"
#include "starttls/mysql.hpp"
#include "starttls/nntp.hpp"
#include "starttls/pop3.hpp"
#include "starttls/postgres.hpp"
#include "starttls/sieve.hpp"
#include "starttls/smtp.hpp"
#include "starttls/xmpp.hpp"

namespace uptls::starttls {

namespace {

template <class Client, auto... role>
std::unique_ptr<Dialogue> client(ClientDialogueOptions options) {
  return std::make_unique<Client>(std::move(options), role...);
}

template <class Server, auto... role>
std::unique_ptr<Dialogue> server(ServerDialogueOptions options) {
  return std::make_unique<Server>(std::move(options), role...);
}

}  // namespace

// One row per protocol; tests/fuzz/CMakeLists.txt reads the names from here
// (a fuzz target per row).
const std::vector<ProtocolInfo>& protocols() {
  static const std::vector<ProtocolInfo> all = {
      {Protocol::smtp, "smtp", 25, "smtps", 465, "RFC 3207", "", client<SmtpClient>,
       server<SmtpServer>},
      {Protocol::lmtp, "lmtp", 24, "", 0, "RFC 2033, RFC 3207", "", client<SmtpClient, true>,
       server<SmtpServer, true>},
      {Protocol::imap, "imap", 143, "imaps", 993, "RFC 9051, RFC 2595", "", client<ImapClient>,
       server<ImapServer>},
      {Protocol::pop3, "pop3", 110, "pop3s", 995, "RFC 1939, RFC 2595", "", client<Pop3Client>,
       server<Pop3Server>},
      {Protocol::sieve, "sieve", 4190, "", 0, "RFC 5804", "", client<SieveClient>,
       server<SieveServer>},
      {Protocol::ftp, "ftp", 21, "ftps", 990, "RFC 4217", "", client<FtpClient>, server<FtpServer>},
      {Protocol::nntp, "nntp", 119, "nntps", 563, "RFC 3977, RFC 4642", "", client<NntpClient>,
       server<NntpServer>},
      {Protocol::ldap, "ldap", 389, "ldaps", 636, "RFC 4511, RFC 4513", "", client<LdapClient>,
       server<LdapServer>},
      {Protocol::postgres, "postgres", 5432, "", 0, "PostgreSQL protocol 3.0, SSLRequest",
       "postgresql", client<PostgresClient>, server<PostgresServer>},
      {Protocol::xmpp, "xmpp", 5222, "", 0, "RFC 6120", "", client<XmppClient>, server<XmppServer>},
      {Protocol::xmpp_server, "xmpp-server", 5269, "", 0, "RFC 6120", "", client<XmppClient, true>,
       server<XmppServer, true>},
      {Protocol::irc, "irc", 6667, "ircs", 6697, "IRCv3 tls extension", "", client<IrcClient>,
       server<IrcServer>},
      {Protocol::mysql, "mysql", 3306, "", 0, "MySQL protocol 10, SSLRequest", "",
       client<MysqlClient>, server<MysqlServer>},
      {Protocol::http_upgrade, "http-upgrade", 80, "", 0, "RFC 2817", "", client<HttpUpgradeClient>,
       server<HttpUpgradeServer>},
  };
  return all;
}

std::optional<ProtocolInfo> protocol_named(std::string_view name, bool* implicit) {
  for (const ProtocolInfo& candidate : protocols()) {
    bool is_implicit = !candidate.implicit_scheme.empty() && name == candidate.implicit_scheme;
    if (name == candidate.name || is_implicit) {
      if (implicit) *implicit = is_implicit;
      return candidate;
    }
  }
  return std::nullopt;
}

const ProtocolInfo& info(Protocol protocol) {
  for (const ProtocolInfo& candidate : protocols()) {
    if (candidate.protocol == protocol) return candidate;
  }
  throw Error(make_error_code(errc::invalid_argument), "unknown STARTTLS protocol");
}

std::unique_ptr<Dialogue> make_client(Protocol protocol, ClientDialogueOptions options) {
  return info(protocol).make_client(std::move(options));
}

std::unique_ptr<Dialogue> make_server(Protocol protocol, ServerDialogueOptions options) {
  return info(protocol).make_server(std::move(options));
}

std::unique_ptr<Dialogue> make_http_connect(std::string authority, std::string basic_credentials,
                                            ClientDialogueOptions options) {
  return std::make_unique<HttpConnectClient>(std::move(authority), std::move(basic_credentials),
                                             std::move(options));
}

asio::awaitable<Learned> client(Stream& stream, Protocol protocol, ClientDialogueOptions options) {
  auto dialogue = make_client(protocol, std::move(options));
  co_return co_await run(stream, *dialogue);
}

asio::awaitable<Learned> server(Stream& stream, Protocol protocol, ServerDialogueOptions options) {
  auto dialogue = make_server(protocol, std::move(options));
  co_return co_await run(stream, *dialogue);
}

}  // namespace uptls::starttls
