#include "tls/certificates.hpp"

#include <openssl/pem.h>

#include <asio/ip/address_v6.hpp>
#include <cstdio>
#include <cstring>

#include "host_name.hpp"
#include "tls/errors.hpp"

namespace uptls::tls::detail {
namespace {

std::string x509_name(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return bio_text(bio.get());
}

std::string asn1_time(const ASN1_TIME* time) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), time);
  return bio_text(bio.get());
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  const unsigned char* p = ASN1_STRING_get0_data(ip);
  int n = ASN1_STRING_length(ip);
  char text[64];
  if (n == 4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return text;
  }
  if (n == 16) {
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), p, 16);
    return asio::ip::address_v6(bytes).to_string();
  }
  return "(malformed IP)";
}

}  // namespace

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<X509Ptr> parse_certificates(std::string_view pem, std::string_view what) {
  std::vector<X509Ptr> certs;
  if (pem.find("-----BEGIN ") == std::string_view::npos) {
    // DER: one or more certificates back to back.
    const auto* p = reinterpret_cast<const unsigned char*>(pem.data());
    const auto* end = p + pem.size();
    while (p < end) {
      X509* cert = d2i_X509(nullptr, &p, static_cast<long>(end - p));
      if (!cert) break;
      certs.emplace_back(cert);
    }
    ERR_clear_error();
    if (certs.empty()) {
      invalid_config("no certificate (PEM or DER) found in " + std::string(what));
    }
    return certs;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends with a "no start line" error at the end of the text: expected.
  ERR_clear_error();
  if (certs.empty()) {
    invalid_config("no PEM certificate found in " + std::string(what));
  }
  return certs;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

CertificateInfo describe(X509* cert) {
  CertificateInfo info;
  info.subject = x509_name(X509_get_subject_name(cert));
  info.issuer = x509_name(X509_get_issuer_name(cert));
  info.not_before = asn1_time(X509_get0_notBefore(cert));
  info.not_after = asn1_time(X509_get0_notAfter(cert));

  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    char* hex = BN_bn2hex(serial);
    info.serial = hex;
    OPENSSL_free(hex);
    BN_free(serial);
  }

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  X509_digest(cert, EVP_sha256(), digest.data(), &length);
  static constexpr char hex_digits[] = "0123456789ABCDEF";
  for (unsigned int i = 0; i < length; ++i) {
    if (i) info.sha256_fingerprint += ':';
    info.sha256_fingerprint += hex_digits[digest[i] >> 4];
    info.sha256_fingerprint += hex_digits[digest[i] & 0xF];
  }

  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<std::size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(ip_text(name->d.iPAddress));
    }
  }
  GENERAL_NAMES_free(names);

  if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
    info.key_bits = EVP_PKEY_get_bits(key);
    char group[64] = {};
    std::size_t group_length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &group_length) == 1) {
      const char* nist = EC_curve_nid2nist(OBJ_sn2nid(group));
      info.key_type = std::string("EC ") + (nist ? nist : group);
    } else {
      info.key_type = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
    }
  }
  info.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));
  info.is_ca = X509_check_ca(cert) != 0;
  ERR_clear_error();

  info.pem = pem_of(cert);
  return info;
}

}  // namespace uptls::tls::detail

namespace uptls::tls {

std::vector<CertificateInfo> read_certificates(std::string_view pem_or_der) {
  std::vector<CertificateInfo> infos;
  for (const auto& cert : detail::parse_certificates(pem_or_der, "the text given")) {
    infos.push_back(detail::describe(cert.get()));
  }
  return infos;
}

}  // namespace uptls::tls

namespace uptls::tls::detail {

bool name_matches(X509* leaf, const std::string& name) {
  if (!leaf || name.empty()) return false;
  return uptls::detail::is_ip_literal(name)
             ? X509_check_ip_asc(leaf, name.c_str(), name_check_flags) == 1
             : X509_check_host(leaf, name.c_str(), name.size(), name_check_flags, nullptr) == 1;
}

void expect_name(X509_VERIFY_PARAM* param, const std::string& name) {
  check_name_to_verify(name);
  // RFC 6125 §6.4.3 and RFC 9525 §6.3 (name_check_flags).
  X509_VERIFY_PARAM_set_hostflags(param, name_check_flags);
  int ok = uptls::detail::is_ip_literal(name)
               ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
               : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) throw drain_errors("cannot set the name to verify '" + name + "'");
}

std::string verification_message(long result, X509* leaf, const std::string& name,
                                 bool client_certificate) {
  std::string message =
      client_certificate ? "client certificate verify failed: " : "certificate verify failed: ";
  if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    std::string names;
    if (leaf) {
      CertificateInfo info = describe(leaf);
      for (const auto& n : info.dns_names) names += (names.empty() ? "" : ", ") + n;
      for (const auto& n : info.ip_addresses) names += (names.empty() ? "" : ", ") + n;
    }
    return message + (result == X509_V_ERR_IP_ADDRESS_MISMATCH ? "IP address '" : "hostname '") +
           name + "' not in certificate names [" + names + "]";
  }
  message += X509_verify_cert_error_string(result);
  if (leaf) {
    CertificateInfo info = describe(leaf);
    message += " (certificate '" + info.subject + "' issued by '" + info.issuer + "')";
  }
  return message;
}

}  // namespace uptls::tls::detail
