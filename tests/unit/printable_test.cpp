#include "uptls/printable.hpp"

#include <gtest/gtest.h>

namespace uptls {
namespace {

TEST(EscapeNonprintable, PrintableTextIsUnchanged) {
  EXPECT_EQ(escape_nonprintable("PING 127.0.0.1:25 'quoted' \"too\" ~"),
            "PING 127.0.0.1:25 'quoted' \"too\" ~");
}

TEST(EscapeNonprintable, ControlBytesAndHighBytesAreEscaped) {
  EXPECT_EQ(escape_nonprintable("\x1b[31mred\x07\r\nnext\tcol"),
            "\\x1b[31mred\\x07\\r\\nnext\\tcol");
  EXPECT_EQ(escape_nonprintable(std::string("\0\x7f\x80\xff", 4)), "\\x00\\x7f\\x80\\xff");
  EXPECT_EQ(escape_nonprintable("C:\\path"), "C:\\\\path") << "a backslash cannot fake an escape";
}

// A message of uptls quotes peer bytes escaped already: printing it must
// not escape them again ("USER evil\\r\\n"), and still lets no control byte through.
TEST(EscapeControl, EscapedTextIsNotEscapedTwice) {
  std::string message = "refused (\"USER evil\\r\\n\")";
  EXPECT_EQ(escape_control(message), message);
  EXPECT_EQ(escape_control("raw\r\n\x1b[2J"), "raw\\r\\n\\x1b[2J");
  EXPECT_EQ(escape_control(std::string("\0\xff", 2)), "\\x00\\xff");
}

TEST(NamePeerOnce, EachMentionBecomesThePeer) {
  EXPECT_EQ(name_peer_once("TLS handshake failed with 127.0.0.1:5000: reset by 127.0.0.1:5000",
                           "127.0.0.1:5000"),
            "TLS handshake failed with the peer: reset by the peer");
  EXPECT_EQ(name_peer_once("nothing to replace", "127.0.0.1:5000"), "nothing to replace");
}

TEST(NamePeerOnce, APeerNamedLikeTheReplacementEnds) {
  // The replacement contains the name: each mention is replaced once.
  EXPECT_EQ(name_peer_once("writing to peer: Connection reset by peer", "peer"),
            "writing to the peer: Connection reset by the peer");
  EXPECT_EQ(name_peer_once("the peer", "the peer"), "the peer");
  EXPECT_EQ(name_peer_once("unchanged", ""), "unchanged");
}

}  // namespace
}  // namespace uptls
