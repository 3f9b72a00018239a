#include "tests/integration/kube/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

namespace brfed::kube::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test_pki: %s failed\n", what);
    std::abort();
  }
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "key pem");
  char* data;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(bio, cert) == 1, "cert pem");
  char* data;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate for `key` named `cn`, signed by issuer/issuer_key (self-signed if null).
X509* Issue(EVP_PKEY* key, const std::string& cn, const char* org, X509* issuer,
            EVP_PKEY* issuer_key, bool is_ca, const char* san, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  if (org) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(org),
                               -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  if (is_ca) {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert, signer, NID_basic_constraints, "CA:FALSE");
    AddExt(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (san) AddExt(cert, signer, NID_subject_alt_name, san);
  Check(X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "sign");
  return cert;
}

}  // namespace

TestPki MakeTestPki(const std::string& ca_name, const std::string& client_cn) {
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  EVP_PKEY* server_key = EVP_EC_gen("P-256");
  EVP_PKEY* client_key = EVP_EC_gen("P-256");
  Check(ca_key && server_key && client_key, "keygen");
  X509* ca = Issue(ca_key, ca_name, nullptr, nullptr, nullptr, true, nullptr, 1);
  X509* server = Issue(server_key, "kube-apiserver", nullptr, ca, ca_key, false,
                       "IP:127.0.0.1,DNS:localhost", 2);
  X509* client = Issue(client_key, client_cn, "system:masters", ca, ca_key, false, nullptr, 3);
  TestPki pki{{CertPem(ca), KeyPem(ca_key)},
              {CertPem(server), KeyPem(server_key)},
              {CertPem(client), KeyPem(client_key)}};
  X509_free(ca);
  X509_free(server);
  X509_free(client);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(server_key);
  EVP_PKEY_free(client_key);
  return pki;
}

}  // namespace brfed::kube::testing
