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

}  // namespace
}  // namespace uptls
