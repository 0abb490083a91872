// libFuzzer target: one protocol's STARTTLS dialogues (uptls/starttls/),
// built once per protocol with UPTLS_FUZZ_PROTOCOL naming it, and on the
// server side the session of `uptls serve` that follows (sessions/). The
// first byte picks the side and how the rest is cut into deliveries, as reads
// would cut it; the dialogue must never consume more than it was given,
// must stay failed or done once it is, must say why it failed, and must
// answer in proportion to what it was sent (no amplification).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sessions/sessions.hpp"
#include "uptls/starttls.hpp"

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

using uptls::starttls::Next;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace uptls::starttls;
  bool server = data[0] & 1;
  std::size_t chunk = 1 + (data[0] >> 1);  // 1..128 bytes per delivery
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  std::unique_ptr<Dialogue> dialogue;
  if (server) {
    ServerDialogueOptions options;
    options.max_line = 256;
    dialogue = make_server(UPTLS_FUZZ_PROTOCOL, options);
  } else {
    ClientDialogueOptions options;
    options.max_line = 256;
    options.max_reply_lines = 20;
    dialogue = make_client(UPTLS_FUZZ_PROTOCOL, options);
  }
  std::size_t output = dialogue->take_output().size();
  std::string pending;
  bool session_started = false;
  for (std::size_t at = 0;
       at < input.size() && dialogue->next() != Next::failed && dialogue->next() != Next::done;
       at += chunk) {
    pending.append(input.substr(at, chunk));
    std::size_t used = dialogue->receive(pending);
    require(used <= pending.size());
    pending.erase(0, used);
    output += dialogue->take_output().size();
    if (dialogue->next() == Next::start_tls) {
      dialogue->tls_started();
      output += dialogue->take_output().size();
    } else if (dialogue->next() == Next::stop_tls) {
      dialogue->tls_stopped();
    }
    if (server && dialogue->next() == Next::done && !dialogue->learned().client_left &&
        !session_started) {
      // The server's dialogue handed the stream over: the session goes on.
      session_started = true;
      uptls::sessions::Options options;
      options.max_line = 256;
      options.max_message = 1024;
      dialogue = uptls::sessions::make_session(UPTLS_FUZZ_PROTOCOL, dialogue->learned(), options);
      output += dialogue->take_output().size();
    }
  }
  if (dialogue->next() == Next::receive) dialogue->end_of_input();
  output += dialogue->take_output().size();
  Next last = dialogue->next();
  if (last == Next::failed) require(dialogue->error() && !dialogue->error_message().empty());
  // A fixed greeting and a bounded answer per byte received.
  require(output <= 4096 + 64 * input.size());
  // Nothing changes a dialogue that ended.
  if (last == Next::failed || last == Next::done) {
    dialogue->receive("QUIT\r\n");
    require(dialogue->next() == last);
  }
  return 0;
}
