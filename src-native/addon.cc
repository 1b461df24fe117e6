#include "addon.h"

#include "context.h"
#include "session.h"

namespace ngtls {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  exports.Set("Context", Context::Init(env, this));
  exports.Set("Session", Session::Init(env, this));
  DefineAddon(exports, {
      InstanceMethod("setErrorClass", &Addon::SetErrorClass),
      InstanceMethod("errorName", &Addon::ErrorName),
      InstanceMethod("strerror", &Addon::StrError),
      InstanceMethod("alertName", &Addon::AlertName),
      InstanceMethod("version", &Addon::Version),
      InstanceMethod("liveSessions", &Addon::LiveSessions),
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
