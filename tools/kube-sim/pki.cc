// In-memory PKI for kube-sim: a CA, serving and client certificates (OpenSSL 3).
#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tools/kube-sim/internal.h"

namespace brfed::kubesim::internal {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

Status SslError(const std::string& what) { return InternalError("pki: " + what + " failed"); }

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return SslError("PEM_write_bio_PrivateKey");
  }
  return BioString(bio.get());
}

Result<std::string> CertPem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return SslError("PEM_write_bio_X509");
  return BioString(bio.get());
}

Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) {
    return SslError(std::string("extension ") + value);
  }
  return Status::OK();
}

struct Issued {
  Ptr<X509> cert;
  Ptr<EVP_PKEY> key;
};

// Creates a key and a certificate for `cn`, signed by (issuer, issuer_key) or self-signed.
Result<Issued> Make(const std::string& cn, const std::string& org, X509* issuer,
                    EVP_PKEY* issuer_key, const std::vector<std::pair<int, std::string>>& exts) {
  Issued out;
  // What OpenSSL's EVP_EC_gen macro does, without its cast that drops const (-Wcast-qual).
  char curve[] = "P-256";
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!out.key) return SslError("EVP_PKEY_Q_keygen");
  out.cert.reset(X509_new());
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return SslError("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 60L * 60 * 24 * 3650);
  X509_set_pubkey(c, out.key.get());
  X509_NAME* name = X509_get_subject_name(c);
  if (!org.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
  for (const auto& [nid, value] : exts) {
    RETURN_IF_ERROR(AddExt(c, issuer ? issuer : c, nid, value.c_str()));
  }
  if (!X509_sign(c, issuer_key ? issuer_key : out.key.get(), EVP_sha256())) {
    return SslError("X509_sign");
  }
  return out;
}

Result<Issued> Load(const CertKey& ck) {
  Issued out;
  Ptr<BIO> cb(BIO_new_mem_buf(ck.cert_pem.data(), static_cast<int>(ck.cert_pem.size())));
  out.cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  Ptr<BIO> kb(BIO_new_mem_buf(ck.key_pem.data(), static_cast<int>(ck.key_pem.size())));
  out.key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!out.cert || !out.key) return InvalidArgumentError("pki: cannot parse the CA PEM");
  return out;
}

Result<CertKey> ToPem(const Issued& i) {
  CertKey out;
  ASSIGN_OR_RETURN(out.cert_pem, CertPem(i.cert.get()));
  ASSIGN_OR_RETURN(out.key_pem, KeyPem(i.key.get()));
  return out;
}

}  // namespace

Result<CertKey> GenerateCa() {
  ASSIGN_OR_RETURN(Issued ca, Make("kube-sim-ca", "", nullptr, nullptr,
                                   {{NID_basic_constraints, "critical,CA:TRUE"},
                                    {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                                    {NID_subject_key_identifier, "hash"}}));
  return ToPem(ca);
}

Result<CertKey> IssueServerCert(const CertKey& ca_pem, bool with_san) {
  ASSIGN_OR_RETURN(Issued ca, Load(ca_pem));
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_authority_key_identifier, "keyid"}};
  if (with_san) exts.push_back({NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"});
  ASSIGN_OR_RETURN(Issued s, Make("kube-sim", "", ca.cert.get(), ca.key.get(), exts));
  return ToPem(s);
}

Result<CertKey> IssueClientCert(const CertKey& ca_pem, const std::string& user,
                                const std::string& group) {
  ASSIGN_OR_RETURN(Issued ca, Load(ca_pem));
  ASSIGN_OR_RETURN(Issued s, Make(user, group, ca.cert.get(), ca.key.get(),
                                  {{NID_basic_constraints, "critical,CA:FALSE"},
                                   {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                   {NID_ext_key_usage, "clientAuth"},
                                   {NID_authority_key_identifier, "keyid"}}));
  return ToPem(s);
}

std::string Base64(const std::string& data) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace brfed::kubesim::internal
