// `uptls features`: what the TLS library offers and what uptls turns on by
// default (seed 003's features.py).

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "json.hpp"
#include "uptls/tls/features.hpp"

namespace uptls::cli {
namespace {

struct Section {
  const char* key;
  const char* title;
  const std::vector<tls::Feature>* items;
};

std::vector<Section> sections(const tls::Features& f) {
  return {{"versions", "Protocol versions", &f.versions},
          {"tls12_ciphers", "TLS 1.2 ciphers", &f.tls12_ciphers},
          {"tls13_ciphersuites", "TLS 1.3 cipher suites", &f.tls13_ciphersuites},
          {"groups", "Key-exchange groups", &f.groups},
          {"signature_algorithms", "Signature algorithms", &f.signature_algorithms},
          {"verify_modes", "Verify modes", &f.verify_modes},
          {"verify_flags", "Verify flags", &f.verify_flags},
          {"options", "Options", &f.options},
          {"extensions", "Features", &f.extensions}};
}

void print_table(const tls::Features& f, bool all_ciphers) {
  print_line("TLS library: " + f.library);
  print_line("(yes/no: the library has it; on/off: uptls uses it by default)");
  for (const auto& section : sections(f)) {
    print_line("");
    print_line(section.title);
    std::size_t hidden = 0;
    for (const auto& item : *section.items) {
      bool cipher = section.items == &f.tls12_ciphers;
      if (cipher && !all_ciphers && !item.on_by_default) {
        ++hidden;
        continue;
      }
      char line[512];
      std::snprintf(line, sizeof line, "  %-32s %-3s %-3s %s", item.name.c_str(),
                    item.available ? "yes" : "no", item.on_by_default ? "on" : "off",
                    item.note.c_str());
      std::string text = line;
      while (!text.empty() && text.back() == ' ') text.pop_back();
      print_line(text);
    }
    if (hidden > 0) {
      print_line("  (and " + std::to_string(hidden) +
                 " more the library has and uptls leaves off: --all-ciphers)");
    }
  }
}

void print_json(const tls::Features& f) {
  std::string out = "{\"library\": " + json_string(f.library);
  for (const auto& section : sections(f)) {
    out += ", " + json_string(section.key) + ": [";
    bool first = true;
    for (const auto& item : *section.items) {
      out += first ? "" : ", ";
      first = false;
      out += "{\"name\": " + json_string(item.name) +
             ", \"available\": " + json_bool(item.available) +
             ", \"on_by_default\": " + json_bool(item.on_by_default) +
             ", \"note\": " + json_string(item.note) + "}";
    }
    out += "]";
  }
  out += "}";
  std::puts(out.c_str());
}

}  // namespace

void add_features_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "features",
      "What this build's TLS library offers (protocol versions, ciphers, groups, signature "
      "algorithms, verify modes and flags, options, SNI, ALPN, NPN, tickets, OCSP stapling, "
      "kernel TLS) and what uptls turns on by default. Every item is tried on the library, "
      "not read from a list.");
  auto json = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "one JSON object, for scripts");
  command->add_flag("--all-ciphers", *all, "list every TLS 1.2 cipher the library has");
  command->footer(
      "Examples:\n"
      "  uptls features\n"
      "  uptls features --json | python3 -m json.tool");
  command->callback([json, all] {
    auto found = tls::features();
    if (*json) {
      print_json(found);
    } else {
      print_table(found, *all);
    }
  });
}

}  // namespace uptls::cli
