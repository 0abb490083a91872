#include "sessions/sessions.hpp"

#include "sessions/ftp.hpp"
#include "sessions/session.hpp"

namespace uptls::sessions {

std::vector<std::string> capabilities_before_tls(starttls::Protocol protocol,
                                                 const Options& options) {
  using starttls::Protocol;
  switch (protocol) {
    case Protocol::smtp:
    case Protocol::lmtp:
      return {"SIZE " + std::to_string(options.max_message), "8BITMIME", "SMTPUTF8"};
    case Protocol::pop3:
      return {"TOP", "UIDL", "IMPLEMENTATION uptls"};
    case Protocol::nntp:
      return {"READER", "POST", "LIST ACTIVE", "OVER", "IMPLEMENTATION uptls"};
    case Protocol::sieve:
      return {"\"IMPLEMENTATION\" \"uptls\"", "\"SIEVE\" \"fileinto\"", "\"SASL\" \"PLAIN\""};
    case Protocol::ftp:
      return {"CCC", "SIZE", "MDTM", "UTF8"};
    case Protocol::ldap:
      return {"vendorName: uptls"};
    default:
      return {};
  }
}

std::unique_ptr<starttls::Dialogue> make_session(starttls::Protocol protocol,
                                                 const starttls::Learned& handed_over,
                                                 Options options) {
  using starttls::Protocol;
  switch (protocol) {
    case Protocol::smtp:
    case Protocol::lmtp:
      return smtp_session(handed_over, std::move(options), protocol == Protocol::lmtp);
    case Protocol::imap:
      return imap_session(handed_over, std::move(options));
    case Protocol::pop3:
      return pop3_session(handed_over, std::move(options));
    case Protocol::sieve:
      return sieve_session(handed_over, std::move(options));
    case Protocol::nntp:
      return nntp_session(handed_over, std::move(options));
    case Protocol::ldap:
      return ldap_session(handed_over, std::move(options));
    case Protocol::postgres:
      return postgres_session(handed_over, std::move(options));
    case Protocol::xmpp:
    case Protocol::xmpp_server:
      return xmpp_session(handed_over, std::move(options), protocol == Protocol::xmpp_server);
    case Protocol::irc:
      return irc_session(handed_over, std::move(options));
    case Protocol::mysql:
      return mysql_session(handed_over, std::move(options));
    case Protocol::http_upgrade:
      return http_session(handed_over, std::move(options));
    case Protocol::ftp:
      return std::make_unique<FtpSession>(handed_over, std::move(options));
  }
  throw Error(make_error_code(errc::invalid_argument), "no session for this protocol");
}

asio::awaitable<void> serve(Stream& stream, starttls::Protocol protocol,
                            starttls::Learned handed_over, Options options) {
  if (protocol == starttls::Protocol::ftp) {
    co_await serve_ftp(stream, handed_over, std::move(options));
    co_return;
  }
  auto session = make_session(protocol, handed_over, std::move(options));
  co_await starttls::run(stream, *session);
}

}  // namespace uptls::sessions
