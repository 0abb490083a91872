#pragma once
/// @file
/// Everything in one include.

#include "uptls/connect.hpp"
#include "uptls/error.hpp"
#include "uptls/ftp.hpp"
#include "uptls/http.hpp"
#include "uptls/lines.hpp"
#include "uptls/printable.hpp"
#include "uptls/proxy.hpp"
#include "uptls/relay.hpp"
#include "uptls/server.hpp"
#include "uptls/starttls.hpp"
#include "uptls/stream.hpp"
#include "uptls/stream_transport.hpp"
#include "uptls/tls/authority.hpp"
#include "uptls/tls/config.hpp"
#include "uptls/tls/features.hpp"
#include "uptls/tls/session_info.hpp"
#include "uptls/tls/verify.hpp"
#include "uptls/transport.hpp"
#include "uptls/version.hpp"
