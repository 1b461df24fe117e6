#include "context.h"

#include <cstring>
#include <string>

#include <gnutls/x509.h>

#include "addon.h"

namespace ngtls {
namespace {

gnutls_datum_t Datum(const Napi::Buffer<uint8_t>& buf) {
  return gnutls_datum_t{buf.Data(), static_cast<unsigned>(buf.Length())};
}

gnutls_x509_crt_fmt_t FormatOf(const Napi::Buffer<uint8_t>& buf) {
  static const char kPem[] = "-----BEGIN";
  const char* p = reinterpret_cast<const char*>(buf.Data());
  size_t n = buf.Length();
  // PEM may start after whitespace or a text preamble; DER starts with an ASN.1 SEQUENCE.
  if (n > 0 && static_cast<uint8_t>(p[0]) == 0x30) return GNUTLS_X509_FMT_DER;
  return (memmem(p, n, kPem, sizeof(kPem) - 1) != nullptr) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
}

}  // namespace

Napi::Function Context::Init(Napi::Env env, Addon* addon) {
  Napi::Function fn = DefineClass(env, "Context",
                                  {
                                      InstanceMethod("setPriority", &Context::SetPriority),
                                      InstanceMethod("sharePriority", &Context::SharePriority),
                                      InstanceMethod("addTrust", &Context::AddTrust),
                                      InstanceMethod("useSystemTrust", &Context::UseSystemTrust),
                                      InstanceMethod("addKeyPair", &Context::AddKeyPair),
                                      InstanceMethod("addPkcs12", &Context::AddPkcs12),
                                      InstanceMethod("addCrl", &Context::AddCrl),
                                      InstanceMethod("addUrlKeyPair", &Context::AddUrlKeyPair),
                                      InstanceMethod("addRawPublicKey", &Context::AddRawPublicKey),
                                      InstanceMethod("enableTickets", &Context::EnableTickets),
                                      InstanceMethod("getTicketKey", &Context::GetTicketKey),
                                      InstanceMethod("setTicketKey", &Context::SetTicketKey),
                                      InstanceMethod("setSessionCache", &Context::SetSessionCache),
                                      InstanceMethod("setDhParams", &Context::SetDhParams),
                                  });
  addon->context_ctor = Napi::Persistent(fn);
  return fn;
}

Context::Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
  int ret = gnutls_certificate_allocate_credentials(&creds_);
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_certificate_allocate_credentials");
  gnutls_certificate_set_known_dh_params(creds_, GNUTLS_SEC_PARAM_MEDIUM);
  gnutls_certificate_set_flags(creds_, GNUTLS_CERTIFICATE_API_V2);  // key loaders return the index
  // The trust list's hash table: GnuTLS's default (127 buckets, 6 KiB) is for the system store;
  // a `ca` list holds a few certificates, and a client keeps one context per connection.
  UseTrustTable(kSmallTrustTable);
}

gnutls_priority_t Context::priority() {
  if (!priorities_) {
    priorities_ = std::make_shared<Priorities>();
    gnutls_priority_init2(&priorities_->client, nullptr, nullptr, 0);  // "NORMAL"
  }
  return priorities_->client;
}

Context::Priorities::~Priorities() {
  if (client) gnutls_priority_deinit(client);
  if (server) gnutls_priority_deinit(server);
}

Context::~Context() {
  if (creds_) gnutls_certificate_free_credentials(creds_);
  if (dh_params_) gnutls_dh_params_deinit(dh_params_);  // after the credentials that point to it
  if (ticket_key_.data) {
    gnutls_memset(ticket_key_.data, 0, ticket_key_.size);
    gnutls_free(ticket_key_.data);
  }
}

// setDhParams(buf): the DH group (PKCS#3, PEM or DER) for DHE when the client names no RFC 7919
// group; returns the prime's size in bits, 0 when the input is no group (nothing is changed).
Napi::Value Context::SetDhParams(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  gnutls_dh_params_t params = nullptr;
  if (gnutls_dh_params_init(&params) < 0) return Napi::Number::New(info.Env(), 0);
  gnutls_datum_t d = Datum(buf);
  gnutls_datum_t prime{nullptr, 0}, generator{nullptr, 0};
  unsigned bits = 0;
  if (gnutls_dh_params_import_pkcs3(params, &d, FormatOf(buf)) == 0 &&
      gnutls_dh_params_export_raw(params, &prime, &generator, nullptr) == 0 && prime.size > 0) {
    size_t i = 0;
    while (i < prime.size && prime.data[i] == 0) i++;  // a leading zero byte keeps it positive
    if (i < prime.size) {
      bits = static_cast<unsigned>((prime.size - i) * 8);
      for (uint8_t top = prime.data[i]; !(top & 0x80); top <<= 1) bits--;
    }
  }
  gnutls_free(prime.data);
  gnutls_free(generator.data);
  if (bits == 0) {
    gnutls_dh_params_deinit(params);
    return Napi::Number::New(info.Env(), 0);
  }
  gnutls_certificate_set_dh_params(creds_, params);
  if (dh_params_) gnutls_dh_params_deinit(dh_params_);
  dh_params_ = params;
  return Napi::Number::New(info.Env(), bits);
}

// Parses a priority string; on a syntax error throws with `errorOffset` = position in str.
static gnutls_priority_t ParsePriority(Napi::Env env, const std::string& str) {
  gnutls_priority_t p = nullptr;
  const char* err_pos = nullptr;
  int ret = gnutls_priority_init(&p, str.c_str(), &err_pos);
  if (ret < 0) {
    Napi::Error err = MakeGnutlsError(env, ret, "invalid priority string");
    if (err_pos) err.Value().Set("errorOffset", Napi::Number::New(env, static_cast<double>(err_pos - str.c_str())));
    throw err;
  }
  return p;
}

// setPriority(str[, serverStr]): parses str once; serverStr, when given, is what server sessions
// use (it is str with tokens appended, parsed when a server session first needs it).
Napi::Value Context::SetPriority(const Napi::CallbackInfo& info) {
  auto p = std::make_shared<Priorities>();
  p->client = ParsePriority(info.Env(), info[0].As<Napi::String>());
  p->server_str = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  priorities_ = std::move(p);
  return info.Env().Undefined();
}

// sharePriority(context): this context uses that one's parsed priorities (set with the same
// strings), instead of parsing its own.
Napi::Value Context::SharePriority(const Napi::CallbackInfo& info) {
  priorities_ = Context::Unwrap(info[0].As<Napi::Object>())->priorities_;
  return info.Env().Undefined();
}

gnutls_priority_t Context::server_priority() {
  priority();
  Priorities& p = *priorities_;
  if (!p.server && !p.server_str.empty()) {
    // str parsed, so str plus removals does too; should it not, servers keep str's priorities.
    if (gnutls_priority_init(&p.server, p.server_str.c_str(), nullptr) < 0) p.server = nullptr;
    p.server_str.clear();
  }
  return p.server ? p.server : p.client;
}

// addTrust(buf): PEM (one or many) or DER CA certificates; returns how many were added.
Napi::Value Context::AddTrust(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  gnutls_datum_t d = Datum(buf);
  trust_added_ = true;
  int ret = gnutls_certificate_set_x509_trust_mem(creds_, &d, FormatOf(buf));
  if (ret < 0) ThrowGnutls(info.Env(), ret, "cannot load CA certificate");
  return Napi::Number::New(info.Env(), ret);
}

// A fresh, empty trust list with a hash table of `size` buckets (0: GnuTLS's default).
void Context::UseTrustTable(unsigned size) {
  gnutls_x509_trust_list_t list = nullptr;
  if (gnutls_x509_trust_list_init(&list, size) < 0) return;  // the credentials keep theirs
  gnutls_certificate_set_trust_list(creds_, list, 0);         // frees the previous (empty) one
}

Napi::Value Context::UseSystemTrust(const Napi::CallbackInfo& info) {
  if (!trust_added_) UseTrustTable(0);  // the system store: hundreds of certificates
  trust_added_ = true;
  int ret = gnutls_certificate_set_x509_system_trust(creds_);
  if (ret < 0) ThrowGnutls(info.Env(), ret, "cannot load the system trust store");
  return Napi::Number::New(info.Env(), ret);
}

// addKeyPair(certChain, key, passphrase?): PEM or DER; an encrypted PKCS#8 key needs the passphrase.
Napi::Value Context::AddKeyPair(const Napi::CallbackInfo& info) {
  auto cert = info[0].As<Napi::Buffer<uint8_t>>();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  std::string pass;
  bool has_pass = info.Length() > 2 && info[2].IsString();
  if (has_pass) pass = info[2].As<Napi::String>();
  gnutls_datum_t c = Datum(cert), k = Datum(key);
  int ret = gnutls_certificate_set_x509_key_mem2(creds_, &c, &k, FormatOf(cert), has_pass ? pass.c_str() : nullptr, 0);
  return Napi::Number::New(info.Env(), Added(info.Env(), ret, "cannot load certificate/key pair"));
}

Napi::Value Context::AddPkcs12(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  std::string pass;
  bool has_pass = info.Length() > 1 && info[1].IsString();
  if (has_pass) pass = info[1].As<Napi::String>();
  gnutls_datum_t d = Datum(buf);
  int ret = gnutls_certificate_set_x509_simple_pkcs12_mem(creds_, &d, GNUTLS_X509_FMT_DER,
                                                          has_pass ? pass.c_str() : nullptr);
  return Napi::Number::New(info.Env(), Added(info.Env(), ret, "cannot load PKCS#12"));
}

Napi::Value Context::AddCrl(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  gnutls_datum_t d = Datum(buf);
  int ret = gnutls_certificate_set_x509_crl_mem(creds_, &d, FormatOf(buf));
  if (ret < 0) ThrowGnutls(info.Env(), ret, "cannot load CRL");
  return Napi::Number::New(info.Env(), ret);
}

// Server sessions made from this context encrypt tickets with this key (generated on first use).
Napi::Value Context::EnableTickets(const Napi::CallbackInfo& info) {
  if (!ticket_key_.data) {
    int ret = gnutls_session_ticket_key_generate(&ticket_key_);
    if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_session_ticket_key_generate");
  }
  return info.Env().Undefined();
}

Napi::Value Context::GetTicketKey(const Napi::CallbackInfo& info) {
  if (!ticket_key_.data) return info.Env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), ticket_key_.data, ticket_key_.size);
}

Napi::Value Context::SetTicketKey(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  uint8_t* data = static_cast<uint8_t*>(gnutls_malloc(buf.Length()));
  if (!data) ThrowGnutls(info.Env(), GNUTLS_E_MEMORY_ERROR, "setTicketKey");
  memcpy(data, buf.Data(), buf.Length());
  if (ticket_key_.data) {
    gnutls_memset(ticket_key_.data, 0, ticket_key_.size);
    gnutls_free(ticket_key_.data);
  }
  ticket_key_ = gnutls_datum_t{data, static_cast<unsigned>(buf.Length())};
  return info.Env().Undefined();
}

// setSessionCache(maxEntries, timeoutSeconds)
Napi::Value Context::SetSessionCache(const Napi::CallbackInfo& info) {
  cache_max_ = info[0].As<Napi::Number>().Uint32Value();
  session_timeout_ = info[1].As<Napi::Number>().Uint32Value();
  while (cache_.size() > cache_max_ && !cache_order_.empty()) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  return info.Env().Undefined();
}

void Context::CacheStore(const gnutls_datum_t& key, const gnutls_datum_t& data) {
  if (cache_max_ == 0) return;
  std::string k(reinterpret_cast<const char*>(key.data), key.size);
  time_t now = time(nullptr);
  // Drop expired and, past the bound, the oldest entries (the order list may hold stale keys).
  while (!cache_order_.empty() && (cache_.size() >= cache_max_ || cache_order_.size() > 2 * cache_max_)) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  auto& e = cache_[k];
  e.data.assign(data.data, data.data + data.size);
  e.expires = now + session_timeout_;
  cache_order_.push_back(std::move(k));
}

gnutls_datum_t Context::CacheFetch(const gnutls_datum_t& key) {
  auto it = cache_.find(std::string(reinterpret_cast<const char*>(key.data), key.size));
  if (it == cache_.end()) return gnutls_datum_t{nullptr, 0};
  if (it->second.expires < time(nullptr)) {
    cache_.erase(it);
    return gnutls_datum_t{nullptr, 0};
  }
  auto* copy = static_cast<unsigned char*>(gnutls_malloc(it->second.data.size()));
  if (!copy) return gnutls_datum_t{nullptr, 0};
  memcpy(copy, it->second.data.data(), it->second.data.size());
  return gnutls_datum_t{copy, static_cast<unsigned>(it->second.data.size())};
}

void Context::CacheRemove(const gnutls_datum_t& key) {
  cache_.erase(std::string(reinterpret_cast<const char*>(key.data), key.size));
}

}  // namespace ngtls
