// Session: PSK, OCSP stapling, channel bindings — the features that reach beyond Node's tls.
#include <algorithm>
#include <cstring>

#include "addon.h"
#include "context.h"
#include "session.h"

namespace ngtls {

// ---- PSK ---------------------------------------------------------------------------------------
// setPsk(callback, hint?): the callback runs synchronously inside handshake(), on the JS thread
// that called it. Server: callback(identity: string) → Buffer | null. Client: callback(hint:
// string | null) → { identity: string, psk: Buffer } | null. A throw or a wrong shape refuses.

Napi::Value Session::SetPsk(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setPsk: callback must be a function");
  psk_.Set(info, s, is_server_, PskServer, PskClient);
  return info.Env().Undefined();
}

int Session::PskServer(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key) {
  Session* self = static_cast<Session*>(gnutls_session_get_ptr(s));
  return self ? self->psk_.ServerKey(self->Env(), username, key) : -1;
}

// A client asked for its TLS 1.3 PSK offer (before any ServerHello) whose callback answers null:
// Node's client then offers no PSK; GnuTLS offers NoPskOffer()'s identity no server knows.
int Session::PskClient(gnutls_session_t s, gnutls_datum_t* username, gnutls_datum_t* key) {
  Session* self = static_cast<Session*>(gnutls_session_get_ptr(s));
  if (!self) return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
  return self->psk_.ClientKey(self->Env(), s, username, key, !self->server_hello_seen_);
}

// ---- OCSP stapling -----------------------------------------------------------------------------

// requestOcsp(): client asks the server to staple an OCSP response (status_request).
Napi::Value Session::RequestOcsp(const Napi::CallbackInfo& info) {
  int ret = gnutls_ocsp_status_request_enable_client(Live(info), nullptr, 0, nullptr);
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_ocsp_status_request_enable_client");
  return info.Env().Undefined();
}

// ocspResponse(): the response the server stapled (client), or undefined.
Napi::Value Session::OcspResponse(const Napi::CallbackInfo& info) {
  gnutls_datum_t d{nullptr, 0};
  if (gnutls_ocsp_status_request_get(Live(info), &d) < 0 || d.size == 0) return info.Env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), d.data, d.size);
}

// setOcspResponse(buf | null): what this server session staples when the client asks.
Napi::Value Session::SetOcspResponse(const Napi::CallbackInfo& info) {
  Live(info);
  if (info[0].IsBuffer()) {
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    ocsp_response_.assign(buf.Data(), buf.Data() + buf.Length());
  } else {
    ocsp_response_.clear();
  }
  return info.Env().Undefined();
}

int Session::StapledResponse(gnutls_datum_t* resp) {
  if (ocsp_response_.empty()) return GNUTLS_E_NO_CERTIFICATE_STATUS;
  return GnutlsCopy(resp, ocsp_response_.data(), ocsp_response_.size()) ? 0 : GNUTLS_E_MEMORY_ERROR;
}

// The bit of offered_versions_ for a TLS version on the wire (3,1 .. 3,4); 0 for others.
static unsigned VersionBit(unsigned char major, unsigned char minor) {
  return major == 3 && minor >= 1 && minor <= 4 ? 1u << (minor - 1) : 0;
}

// Looks for status_request (5), the ALPN list (16) and supported_versions (43) in a ClientHello;
// GnuTLS splits the extensions, the ALPN list (RFC 7301: a 2-byte length, then 1-byte-length
// names) is read here.
int Session::ClientHelloExtension(void* ctx, unsigned tls_id, const unsigned char* data, unsigned size) {
  Session* self = static_cast<Session*>(ctx);
  if (tls_id == 5) self->status_requested_ = true;
  if (tls_id == 16) {
    self->client_alpn_.clear();
    self->client_alpn_seen_ = true;
    if (size < 2) return 0;
    size_t end = std::min<size_t>(size, 2 + (size_t{data[0]} << 8 | data[1]));
    for (size_t i = 2; i < end;) {
      size_t n = data[i];
      if (i + 1 + n > end) break;
      self->client_alpn_.emplace_back(reinterpret_cast<const char*>(data + i + 1), n);
      i += 1 + n;
    }
  }
  if (tls_id == 43 && size >= 1) {
    // A one-byte length, then two bytes per version; it replaces legacy_version.
    self->offered_versions_ = 0;
    unsigned len = data[0] < size - 1 ? data[0] : size - 1;
    for (unsigned i = 1; i + 1 <= len; i += 2) self->offered_versions_ |= VersionBit(data[i], data[i + 1]);
  }
  if (tls_id == 43 && size >= 1 && self->context_) {
    // supported_versions: does it name a version this session's priorities enable?
    const unsigned int* enabled = nullptr;
    int n = gnutls_priority_protocol_list(self->context_->priority(), &enabled);
    bool common = n <= 0;  // no list to judge by: leave it to GnuTLS
    const unsigned len = data[0];
    for (unsigned i = 1; !common && i + 1 <= len && i + 1 < size; i += 2) {
      if (data[i] != 3) continue;
      // Wire 3.1 .. 3.4 are GNUTLS_TLS1_0 .. GNUTLS_TLS1_3.
      unsigned proto = GNUTLS_TLS1_0 + data[i + 1] - 1;
      for (int k = 0; k < n; k++) common = common || enabled[k] == proto;
    }
    self->no_common_version_ = !common;
  }
  return 0;
}

// noCommonVersion(): the ClientHello's supported_versions named none of our versions.
Napi::Value Session::NoCommonVersion(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), no_common_version_);
}

void Session::NoteClientHello(const gnutls_datum_t* msg) {
  gnutls_datum_t body = *msg;
  if (body.size >= 4 && body.data[0] == GNUTLS_HANDSHAKE_CLIENT_HELLO &&
      (size_t{body.data[1]} << 16 | size_t{body.data[2]} << 8 | body.data[3]) == body.size - 4) {
    body.data += 4;
    body.size -= 4;
  }
  // Without supported_versions, legacy_version is the highest version the client takes.
  if (body.size >= 2) {
    unsigned top = VersionBit(body.data[0], body.data[1]);
    if (body.data[0] == 3 && body.data[1] > 4) top = 1u << 3;
    offered_versions_ = top ? (top << 1) - 1 : 0;
  }
  gnutls_ext_raw_parse(this, ClientHelloExtension, &body, GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO);
}

// ---- channel bindings --------------------------------------------------------------------------

// channelBinding(type): 0 tls-unique, 1 tls-server-end-point, 2 tls-exporter; undefined when
// GnuTLS has none for this session (tls-unique under TLS 1.3, say).
Napi::Value Session::ChannelBinding(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  unsigned type = info[0].As<Napi::Number>().Uint32Value();
  Napi::Value out = info.Env().Undefined();
  int ret = ngtls::ChannelBinding(info.Env(), s, type, &out);
  if (ret == GNUTLS_E_UNIMPLEMENTED_FEATURE || ret == GNUTLS_E_INVALID_REQUEST ||
      ret == GNUTLS_E_CHANNEL_BINDING_NOT_AVAILABLE)
    return info.Env().Undefined();
  if (ret < 0) ThrowGnutls(info.Env(), ret, "gnutls_session_channel_binding");
  return out;
}

}  // namespace ngtls
