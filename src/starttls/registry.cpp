#include "uptls/starttls.hpp"

#include "uptls/starttls/ftp.hpp"
#include "uptls/starttls/http_upgrade.hpp"
#include "uptls/starttls/imap.hpp"
#include "uptls/starttls/irc.hpp"
#include "uptls/starttls/ldap.hpp"
#include "uptls/starttls/mysql.hpp"
#include "uptls/starttls/nntp.hpp"
#include "uptls/starttls/pop3.hpp"
#include "uptls/starttls/postgres.hpp"
#include "uptls/starttls/sieve.hpp"
#include "uptls/starttls/smtp.hpp"
#include "uptls/starttls/xmpp.hpp"

namespace uptls::starttls {

const std::vector<ProtocolInfo>& protocols() {
  static const std::vector<ProtocolInfo> all = {
      {Protocol::smtp, "smtp", 25, "smtps", 465, "RFC 3207"},
      {Protocol::lmtp, "lmtp", 24, "", 0, "RFC 2033, RFC 3207"},
      {Protocol::imap, "imap", 143, "imaps", 993, "RFC 9051, RFC 2595"},
      {Protocol::pop3, "pop3", 110, "pop3s", 995, "RFC 1939, RFC 2595"},
      {Protocol::sieve, "sieve", 4190, "", 0, "RFC 5804"},
      {Protocol::ftp, "ftp", 21, "ftps", 990, "RFC 4217"},
      {Protocol::nntp, "nntp", 119, "nntps", 563, "RFC 3977, RFC 4642"},
      {Protocol::ldap, "ldap", 389, "ldaps", 636, "RFC 4511, RFC 4513"},
      {Protocol::postgres, "postgres", 5432, "", 0, "PostgreSQL protocol 3.0, SSLRequest"},
      {Protocol::xmpp, "xmpp", 5222, "", 0, "RFC 6120"},
      {Protocol::xmpp_server, "xmpp-server", 5269, "", 0, "RFC 6120"},
      {Protocol::irc, "irc", 6667, "ircs", 6697, "IRCv3 tls extension"},
      {Protocol::mysql, "mysql", 3306, "", 0, "MySQL protocol 10, SSLRequest"},
      {Protocol::http_upgrade, "http-upgrade", 80, "", 0, "RFC 2817"},
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
  switch (protocol) {
    case Protocol::smtp:
      return std::make_unique<SmtpClient>(std::move(options));
    case Protocol::lmtp:
      return std::make_unique<SmtpClient>(std::move(options), true);
    case Protocol::imap:
      return std::make_unique<ImapClient>(std::move(options));
    case Protocol::pop3:
      return std::make_unique<Pop3Client>(std::move(options));
    case Protocol::sieve:
      return std::make_unique<SieveClient>(std::move(options));
    case Protocol::nntp:
      return std::make_unique<NntpClient>(std::move(options));
    case Protocol::ldap:
      return std::make_unique<LdapClient>(std::move(options));
    case Protocol::postgres:
      return std::make_unique<PostgresClient>(std::move(options));
    case Protocol::xmpp:
      return std::make_unique<XmppClient>(std::move(options));
    case Protocol::xmpp_server:
      return std::make_unique<XmppClient>(std::move(options), true);
    case Protocol::irc:
      return std::make_unique<IrcClient>(std::move(options));
    case Protocol::http_upgrade:
      return std::make_unique<HttpUpgradeClient>(std::move(options));
    case Protocol::mysql:
      return std::make_unique<MysqlClient>(std::move(options));
    case Protocol::ftp:
      return std::make_unique<FtpClient>(std::move(options));
  }
  throw Error(make_error_code(errc::invalid_argument), "unknown STARTTLS protocol");
}

std::unique_ptr<Dialogue> make_server(Protocol protocol, ServerDialogueOptions options) {
  switch (protocol) {
    case Protocol::smtp:
      return std::make_unique<SmtpServer>(std::move(options));
    case Protocol::lmtp:
      return std::make_unique<SmtpServer>(std::move(options), true);
    case Protocol::imap:
      return std::make_unique<ImapServer>(std::move(options));
    case Protocol::pop3:
      return std::make_unique<Pop3Server>(std::move(options));
    case Protocol::sieve:
      return std::make_unique<SieveServer>(std::move(options));
    case Protocol::nntp:
      return std::make_unique<NntpServer>(std::move(options));
    case Protocol::ldap:
      return std::make_unique<LdapServer>(std::move(options));
    case Protocol::postgres:
      return std::make_unique<PostgresServer>(std::move(options));
    case Protocol::xmpp:
      return std::make_unique<XmppServer>(std::move(options));
    case Protocol::xmpp_server:
      return std::make_unique<XmppServer>(std::move(options), true);
    case Protocol::irc:
      return std::make_unique<IrcServer>(std::move(options));
    case Protocol::http_upgrade:
      return std::make_unique<HttpUpgradeServer>(std::move(options));
    case Protocol::mysql:
      return std::make_unique<MysqlServer>(std::move(options));
    case Protocol::ftp:
      return std::make_unique<FtpServer>(std::move(options));
  }
  throw Error(make_error_code(errc::invalid_argument), "unknown STARTTLS protocol");
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
