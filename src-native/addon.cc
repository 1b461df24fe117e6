#include "addon.h"

#include <gnutls/pkcs11.h>

#include "context.h"
#include "dtls-session.h"
#include "session.h"

namespace ngtls {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  exports.Set("Context", Context::Init(env, this));
  exports.Set("Session", Session::Init(env, this));
  exports.Set("DtlsSession", DtlsSession::Init(env, this));
  DtlsSession::RegisterCookieFunctions(env, exports);
  DefineAddon(exports, {
      InstanceMethod("setErrorClass", &Addon::SetErrorClass),
      InstanceMethod("errorName", &Addon::ErrorName),
      InstanceMethod("strerror", &Addon::StrError),
      InstanceMethod("alertName", &Addon::AlertName),
      InstanceMethod("version", &Addon::Version),
      InstanceMethod("liveSessions", &Addon::LiveSessions),
      InstanceMethod("cipherSuites", &Addon::CipherSuites),
      InstanceMethod("addPkcs11Provider", &Addon::AddPkcs11Provider),
      InstanceMethod("systemTrust", &Addon::SystemTrust),
  });
}

Napi::Value Addon::SetErrorClass(const Napi::CallbackInfo& info) {
  error_ctor = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Addon::ErrorName(const Napi::CallbackInfo& info) {
  const char* name = gnutls_strerror_name(info[0].As<Napi::Number>().Int32Value());
  return name ? Napi::String::New(info.Env(), name) : info.Env().Null();
}

Napi::Value Addon::StrError(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), gnutls_strerror(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value Addon::AlertName(const Napi::CallbackInfo& info) {
  const char* name =
      gnutls_alert_get_strname(static_cast<gnutls_alert_description_t>(info[0].As<Napi::Number>().Int32Value()));
  return name ? Napi::String::New(info.Env(), name) : info.Env().Null();
}

Napi::Value Addon::Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), gnutls_check_version(nullptr));
}

Napi::Value Addon::LiveSessions(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_sessions));
}

// cipherSuites(priority): the suites a priority string enables, in order of preference, as
// [{ name, id: [hi, lo], minVersion }]. Parsed by GnuTLS; throws with errorOffset when invalid.
Napi::Value Addon::CipherSuites(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string str = info[0].As<Napi::String>();
  gnutls_priority_t p = nullptr;
  const char* err_pos = nullptr;
  int ret = gnutls_priority_init(&p, str.c_str(), &err_pos);
  if (ret < 0) {
    Napi::Error err = MakeGnutlsError(env, ret, "invalid priority string");
    if (err_pos) err.Value().Set("errorOffset", Napi::Number::New(env, static_cast<double>(err_pos - str.c_str())));
    throw err;
  }
  Napi::Array out = Napi::Array::New(env);
  unsigned sidx = 0;
  for (unsigned i = 0;; i++) {
    ret = gnutls_priority_get_cipher_suite_index(p, i, &sidx);
    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
    if (ret < 0) continue;  // not usable with this build
    unsigned char id[2];
    gnutls_protocol_t min_version;
    const char* name = gnutls_cipher_suite_info(sidx, id, nullptr, nullptr, nullptr, &min_version);
    if (!name) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", name);
    Napi::Array idv = Napi::Array::New(env, 2);
    idv.Set(0u, Napi::Number::New(env, id[0]));
    idv.Set(1u, Napi::Number::New(env, id[1]));
    o.Set("id", idv);
    const char* v = gnutls_protocol_get_name(min_version);
    o.Set("minVersion", v ? Napi::Value(Napi::String::New(env, v)) : env.Null());
    out.Set(out.Length(), o);
  }
  gnutls_priority_deinit(p);
  return out;
}

// addPkcs11Provider(modulePath): loads a PKCS#11 module (besides those p11-kit configures).
Napi::Value Addon::AddPkcs11Provider(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  int ret = gnutls_pkcs11_add_provider(path.c_str(), nullptr);
  if (ret < 0) ThrowGnutls(info.Env(), ret, "cannot load PKCS#11 module " + path);
  return info.Env().Undefined();
}

// systemTrust(): the CA certificates of GnuTLS's system trust store, DER, in the store's order.
Napi::Value Addon::SystemTrust(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  gnutls_x509_trust_list_t list = nullptr;
  int ret = gnutls_x509_trust_list_init(&list, 0);
  if (ret < 0) ThrowGnutls(env, ret, "cannot create a trust list");
  Napi::Array out = Napi::Array::New(env);
  ret = gnutls_x509_trust_list_add_system_trust(list, 0, 0);
  if (ret < 0) {
    gnutls_x509_trust_list_deinit(list, 1);
    ThrowGnutls(env, ret, "cannot load the system trust store");
  }
  gnutls_x509_trust_list_iter_t iter = nullptr;
  gnutls_x509_crt_t crt = nullptr;
  while (gnutls_x509_trust_list_iter_get_ca(list, &iter, &crt) == 0) {
    gnutls_datum_t der = {nullptr, 0};
    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) == 0) {
      out.Set(out.Length(), Napi::Buffer<unsigned char>::Copy(env, der.data, der.size));
      gnutls_free(der.data);
    }
    gnutls_x509_crt_deinit(crt);
    crt = nullptr;
  }
  gnutls_x509_trust_list_iter_deinit(iter);
  gnutls_x509_trust_list_deinit(list, 1);
  return out;
}

Napi::Error MakeGnutlsError(Napi::Env env, int code, const std::string& what) {
  std::string msg = what + ": " + gnutls_strerror(code);
  const char* name = gnutls_strerror_name(code);
  Addon* addon = Addon::Of(env);
  if (addon && !addon->error_ctor.IsEmpty()) {
    Napi::Object err = addon->error_ctor.New({Napi::String::New(env, msg), Napi::Number::New(env, code),
                                              name ? Napi::String::New(env, name) : env.Null()});
    return Napi::Error(env, err);
  }
  return Napi::Error::New(env, msg);
}

void ThrowGnutls(Napi::Env env, int code, const std::string& what) { throw MakeGnutlsError(env, code, what); }

}  // namespace ngtls

using NgtlsAddon = ngtls::Addon;
NODE_API_ADDON(NgtlsAddon)
