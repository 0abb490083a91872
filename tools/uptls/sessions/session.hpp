#pragma once
// What every session of sessions.hpp shares: a server-side Dialogue that
// starts where the STARTTLS dialogue handed over, and the factories of
// each protocol's file.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sessions/sessions.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::sessions {

/// A session: a dialogue in the server's role that never upgrades.
class Session : public starttls::Dialogue {
 public:
  /// @param handed_over what the STARTTLS dialogue learned (Learned::tls).
  /// @param options names and limits.
  Session(const starttls::Learned& handed_over, Options options)
      : Dialogue(Role::server, options.max_line), options_(std::move(options)) {
    learned_.tls = handed_over.tls;
  }

 protected:
  /// Logs a line, when the session has a log.
  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  /// The session was handed a stream over TLS already.
  void on_tls() final {}

  Options options_;
};

std::unique_ptr<starttls::Dialogue> smtp_session(const starttls::Learned& handed_over,
                                                 Options options, bool lmtp);
std::unique_ptr<starttls::Dialogue> pop3_session(const starttls::Learned& handed_over,
                                                 Options options);
std::unique_ptr<starttls::Dialogue> imap_session(const starttls::Learned& handed_over,
                                                 Options options);
std::unique_ptr<starttls::Dialogue> sieve_session(const starttls::Learned& handed_over,
                                                  Options options);
std::unique_ptr<starttls::Dialogue> nntp_session(const starttls::Learned& handed_over,
                                                 Options options);
std::unique_ptr<starttls::Dialogue> ldap_session(const starttls::Learned& handed_over,
                                                 Options options);
std::unique_ptr<starttls::Dialogue> postgres_session(const starttls::Learned& handed_over,
                                                     Options options);
std::unique_ptr<starttls::Dialogue> mysql_session(const starttls::Learned& handed_over,
                                                  Options options);
std::unique_ptr<starttls::Dialogue> xmpp_session(const starttls::Learned& handed_over,
                                                 Options options, bool server_to_server);
std::unique_ptr<starttls::Dialogue> irc_session(const starttls::Learned& handed_over,
                                                Options options);
std::unique_ptr<starttls::Dialogue> http_session(const starttls::Learned& handed_over,
                                                 Options options);

}  // namespace uptls::sessions
