// libFuzzer target: the PROXY protocol parser (uptls/proxy_protocol.hpp).
// It never reads past the header it reports; a decision taken on a prefix
// (complete, malformed, absent) is the one taken on all the bytes; what it
// parses, encoded again, parses to the same addresses.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "uptls/proxy_protocol.hpp"

namespace {

namespace pp = uptls::proxy_protocol;
using Status = pp::Parsed::Status;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pp::Parsed whole = pp::parse(bytes);
  require(whole.status != Status::complete || (whole.size > 0 && whole.size <= size));
  require(whole.status != Status::malformed || !whole.error.empty());
  if (whole.status == Status::complete) {
    // The bytes after the header do not change it.
    pp::Parsed alone = pp::parse(bytes.substr(0, whole.size));
    require(alone.status == Status::complete && alone.size == whole.size);
    require(alone.header.source == whole.header.source);
    if (!whole.header.local) {
      for (int version : {1, 2}) {
        pp::Parsed again =
            pp::parse(pp::encode(version, whole.header.source, whole.header.destination));
        require(again.status == Status::complete && !again.header.local);
        require(again.header.source == whole.header.source);
        require(again.header.destination == whole.header.destination);
      }
    }
  }
  // Every prefix asks for more, or decides as the whole did.
  for (std::size_t end = 0; end < size; ++end) {
    pp::Parsed part = pp::parse(bytes.substr(0, end));
    if (part.status == Status::incomplete) continue;
    require(part.status == whole.status);
    require(part.status != Status::complete || part.size == whole.size);
  }
  return 0;
}
