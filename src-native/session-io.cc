// Session: the in-memory transport GnuTLS reads and writes through, and the calls that move
// records (feed/receive/recv, handshake, send/output, reauth, rehandshake, key update, alerts).
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>

#include "addon.h"
#include "session.h"

namespace ngtls {
namespace {

constexpr size_t kRecvChunk = 64 * 1024;
constexpr size_t kKeepCapacity = 32 * 1024;  // queue capacity a drained session may keep
constexpr int kApplicationData = RecordQueue::kApplicationData;

}  // namespace

// ---- transport over memory ------------------------------------------------------------------

ssize_t Session::Pull(gnutls_transport_ptr_t ptr, void* data, size_t len) {
  Session* self = static_cast<Session*>(ptr);
  size_t n = self->in_.Pull(static_cast<uint8_t*>(data), len, self->hold_app_data_);
  if (n == 0) {
    gnutls_transport_set_errno(self->session_, EAGAIN);
    return -1;
  }
  return static_cast<ssize_t>(n);
}

int Session::PullTimeout(gnutls_transport_ptr_t ptr, unsigned int) {
  Session* self = static_cast<Session*>(ptr);
  return self->in_.Pending() > 0 ? 1 : 0;
}

ssize_t Session::PushVec(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) {
  Session* self = static_cast<Session*>(ptr);
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;
  if (self->fd_ >= 0) return self->PushFd(iov, iovcnt, total);
  // During send(data, slab, offset): straight into the JS slab while everything fits (and nothing
  // is queued before it, so that the order on the wire holds).
  if (self->direct_ && self->out_.empty() && self->direct_used_ + total <= self->direct_cap_) {
    for (int i = 0; i < iovcnt; i++) {
      memcpy(self->direct_ + self->direct_used_, iov[i].iov_base, iov[i].iov_len);
      self->direct_used_ += iov[i].iov_len;
    }
    return static_cast<ssize_t>(total);
  }
  total = 0;
  for (int i = 0; i < iovcnt; i++) {
    const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
    self->out_.insert(self->out_.end(), p, p + iov[i].iov_len);
    total += iov[i].iov_len;
  }
  return static_cast<ssize_t>(total);
}

// ---- record I/O --------------------------------------------------------------------------------

Napi::Value Session::Feed(const Napi::CallbackInfo& info) {
  Live(info);
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  // GnuTLS reads the chunk where it is (no copy); it stays referenced until read or adopted.
  Settle(true);
  in_.SetExternal(buf.Data(), buf.Length());
  fed_ref_ = Napi::Persistent(buf.As<Napi::Object>());
  PublishState();
  return Napi::Number::New(info.Env(), static_cast<double>(in_.Pending()));
}

// Drops the reference to the last fed chunk once GnuTLS has read all of it; with `adopt`, copies
// what is left of it inside first (GnuTLS waits for more input: an idle session keeps no chunk).
void Session::Settle(bool adopt) {
  if (!in_.HasExternal()) return;
  if (adopt) in_.AdoptExternal();
  else if (in_.Pending() == 0) in_.AdoptExternal();
  if (!in_.HasExternal() && !fed_ref_.IsEmpty()) fed_ref_.Reset();
}

// nextRecordType(): the content type of the record GnuTLS reads next or is inside (20 CCS,
// 21 alert, 22 handshake, 23 application data), or -1 when nothing is fed. Only meaningful
// before TLS 1.3 hides the types.
Napi::Value Session::NextRecordType(const Napi::CallbackInfo& info) {
  Live(info);
  return Napi::Number::New(info.Env(), in_.NextType());
}

// handshake(holdAppData?): gnutls_handshake(); with holdAppData, application-data records are
// not handed to it (GnuTLS restarts a re-handshake that meets one): read them with recv(_, 2).
Napi::Value Session::Handshake(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  hold_app_data_ = info.Length() > 0 && info[0].ToBoolean();
  int ret = RunWhileConsuming([s] { return gnutls_handshake(s); });
  hold_app_data_ = false;
  if (ret == GNUTLS_E_SUCCESS) established_ = true;
  Settle(ret == GNUTLS_E_AGAIN);
  return Napi::Number::New(info.Env(), ret);
}

// recv(maxBytes): decrypts what the fed ciphertext holds, up to maxBytes. Returns a Buffer of
// plaintext, or a number: the GnuTLS code that stopped it (GNUTLS_E_AGAIN: needs more input;
// 0: close_notify received; GNUTLS_E_REHANDSHAKE, GNUTLS_E_REAUTH_REQUEST, alerts, errors).
// A code met after some plaintext was collected is kept and returned by the next call.
Napi::Value Session::Recv(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  Napi::Env env = info.Env();
  if (pending_code_ != kNoCode) {
    int code = pending_code_;
    pending_code_ = kNoCode;
    return Napi::Number::New(env, code);
  }
  size_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : (1u << 20);
  // mode 1: take only application data GnuTLS already decrypted and buffered (after
  // GNUTLS_E_GOT_APPLICATION_DATA in a handshake or re-auth), reading no further records.
  // mode 2: read application-data records up to the next record of another type (TLS <= 1.2,
  // during a re-handshake, so that gnutls_handshake() never meets application data).
  unsigned mode = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  std::vector<uint8_t>& plain = addon_->recv_scratch;
  if (plain.size() < kRecvChunk) plain.resize(kRecvChunk);
  max = std::min(max, plain.size());
  int code = GNUTLS_E_AGAIN;
  size_t got = RecvInto(s, plain.data(), max, mode, &code);
  if (got == 0) return Napi::Number::New(env, static_cast<double>(code));
  if (code != GNUTLS_E_AGAIN) pending_code_ = code;
  return Napi::Buffer<uint8_t>::Copy(env, plain.data(), got);
}

// GnuTLS reads one record per call while it assembles a handshake message, and answers
// GNUTLS_E_AGAIN after each record of a message that spans several (a large ClientHello, a long
// certificate chain): call it again while it consumes input and input is left.
int Session::RunWhileConsuming(const std::function<int()>& step) {
  for (;;) {
    size_t before = in_.Consumed();
    int ret = step();
    if (ret != GNUTLS_E_AGAIN || close_pending_ || in_.Consumed() == before || in_.Pending() == 0) return ret;
  }
}

// Decrypts into dst[0..max) what the fed ciphertext holds; *code is the GnuTLS code that stopped
// it (GNUTLS_E_AGAIN: needs more input; 0: close_notify; GNUTLS_E_REHANDSHAKE, alerts, errors).
size_t Session::RecvInto(gnutls_session_t s, uint8_t* dst, size_t max, unsigned mode, int* code) {
  size_t got = 0;
  *code = GNUTLS_E_AGAIN;
  while (got < max) {
    if (mode == 1 && gnutls_record_check_pending(s) == 0) break;
    if (mode == 2 && gnutls_record_check_pending(s) == 0 && in_.NextType() != kApplicationData) break;
    size_t consumed_before = in_.Consumed();
    ssize_t r = gnutls_record_recv(s, dst + got, max - got);
    // After a post-handshake message (NewSessionTicket, KeyUpdate, ...) GnuTLS answers
    // GNUTLS_E_AGAIN although more records may be waiting: retry while input is being consumed.
    if (r == GNUTLS_E_AGAIN && in_.Consumed() != consumed_before) continue;
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    *code = static_cast<int>(r);
    break;
  }
  Settle(got == 0 && *code == GNUTLS_E_AGAIN);
  in_.Trim();
  return got;
}

// receive(chunk | undefined, plain, offset, max): feed(chunk), then decrypt into
// plain[offset..offset+max) in one call. Returns the plaintext byte count; the code that stopped
// it, the event bits and what output()/takeKeylog() hold are in the state array.
Napi::Value Session::Receive(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  Napi::Env env = info.Env();
  if (info[0].IsBuffer()) {
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    Settle(true);
    in_.SetExternal(buf.Data(), buf.Length());
    fed_ref_ = Napi::Persistent(buf.As<Napi::Object>());
  }
  auto plain = info[1].As<Napi::Buffer<uint8_t>>();
  size_t off = info[2].As<Napi::Number>().Uint32Value();
  size_t max = info[3].As<Napi::Number>().Uint32Value();
  if (off > plain.Length()) throw Napi::RangeError::New(env, "receive: offset outside the buffer");
  max = std::min(max, plain.Length() - off);
  int code = GNUTLS_E_AGAIN;
  size_t got = 0;
  if (pending_code_ != kNoCode) {
    code = pending_code_;
    pending_code_ = kNoCode;
  } else {
    got = RecvInto(s, plain.Data() + off, max, 0, &code);
  }
  if (state_) state_[0] = code;
  return Napi::Number::New(env, static_cast<double>(got));
}

// setStateArray(Int32Array(7)): where receive(), send() and handshake() leave [code, event bits
// (JS clears them), bytes waiting in output(), lines waiting in takeKeylog(), input bytes not yet
// decrypted (fed ciphertext plus plaintext GnuTLS holds), ciphertext waiting for the attached
// descriptor, the errno of a failed write to it (negative)].
Napi::Value Session::SetStateArray(const Napi::CallbackInfo& info) {
  Live(info);
  auto arr = info[0].As<Napi::Int32Array>();
  if (arr.ElementLength() < 7) throw Napi::RangeError::New(info.Env(), "setStateArray: needs 7 elements");
  state_ref_ = Napi::Persistent(arr);
  state_ = arr.Data();
  state_len_ = arr.ElementLength();
  return info.Env().Undefined();
}

void Session::PublishState() {
  if (!state_) return;
  state_[1] |= static_cast<int32_t>(events_);
  events_ = 0;
  state_[2] = static_cast<int32_t>(out_.size());
  state_[3] = static_cast<int32_t>(keylog_lines_.size());
  size_t queued = in_.Pending();
  if (session_) queued += gnutls_record_check_pending(session_);
  state_[4] = static_cast<int32_t>(std::min<size_t>(queued, INT32_MAX));
  state_[5] = static_cast<int32_t>(std::min<size_t>(fd_out_.size() - fd_out_off_, INT32_MAX));
  state_[6] = -fd_error_;
}

// send(buf | buf[]): encrypts everything (records corked together); returns bytes or a code.
Napi::Value Session::Send(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  Napi::Env env = info.Env();
  std::vector<Napi::Buffer<uint8_t>> bufs;
  if (info[0].IsArray()) {
    Napi::Array arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) bufs.push_back(arr.Get(i).As<Napi::Buffer<uint8_t>>());
  } else {
    bufs.push_back(info[0].As<Napi::Buffer<uint8_t>>());
  }
  // send(data, slab, offset): ciphertext goes into slab[offset..] as far as it fits (the result
  // is then that byte count, the rest waits in output()); without a slab, the plaintext count.
  bool direct = info.Length() > 2 && info[1].IsBuffer();
  if (direct) {
    auto slab = info[1].As<Napi::Buffer<uint8_t>>();
    size_t off = info[2].As<Napi::Number>().Uint32Value();
    if (off > slab.Length()) throw Napi::RangeError::New(env, "send: offset outside the slab");
    direct_ = slab.Data() + off;
    direct_cap_ = slab.Length() - off;
    direct_used_ = 0;
  }
  struct Reset {
    Session* self;
    ~Reset() { self->direct_ = nullptr; }
  } reset{this};
  bool cork = bufs.size() > 1;
  if (cork) gnutls_record_cork(s);
  double total = 0;
  for (auto& b : bufs) {
    size_t off = 0;
    while (off < b.Length()) {
      ssize_t r = gnutls_record_send(s, b.Data() + off, b.Length() - off);
      if (r < 0) {
        if (cork) gnutls_record_uncork(s, 0);
        return Napi::Number::New(env, static_cast<double>(r));
      }
      off += static_cast<size_t>(r);
    }
    total += static_cast<double>(b.Length());
  }
  if (cork) {
    int r = gnutls_record_uncork(s, GNUTLS_RECORD_WAIT);
    if (r < 0) return Napi::Number::New(env, r);
  }
  if (direct) return Napi::Number::New(env, static_cast<double>(direct_used_));
  return Napi::Number::New(env, total);
}

// output(): the ciphertext produced since the last call, or undefined.
Napi::Value Session::Output(const Napi::CallbackInfo& info) {
  if (out_.empty()) return info.Env().Undefined();
  Napi::Value buf = Napi::Buffer<uint8_t>::Copy(info.Env(), out_.data(), out_.size());
  if (state_) state_[2] = 0;
  if (out_.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(out_);
  else out_.clear();
  return buf;
}

// reauth(): gnutls_reauth() — TLS 1.3 post-handshake authentication (server asks, client answers).
Napi::Value Session::Reauth(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  return Napi::Number::New(info.Env(), RunWhileConsuming([s] { return gnutls_reauth(s, 0); }));
}

// rehandshake(): gnutls_rehandshake() — HelloRequest under TLS 1.2, a key update asking the
// peer to update too under TLS 1.3.
Napi::Value Session::Rehandshake(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_rehandshake(s));
}

// keyUpdate(requestPeer): gnutls_session_key_update() (TLS 1.3 only).
Napi::Value Session::KeyUpdate(const Napi::CallbackInfo& info) {
  unsigned flags = info[0].ToBoolean() ? GNUTLS_KU_PEER : 0;
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_session_key_update(s, flags));
}

// takeTicketCount(): how many NewSessionTickets arrived since the last call (one event bit covers
// all of them).
Napi::Value Session::TakeTicketCount(const Napi::CallbackInfo& info) {
  Live(info);
  uint32_t n = tickets_received_;
  tickets_received_ = 0;
  return Napi::Number::New(info.Env(), n);
}

Napi::Value Session::Bye(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  return Napi::Number::New(info.Env(), gnutls_bye(s, GNUTLS_SHUT_WR));
}

// sendAlert(level, description)
Napi::Value Session::SendAlert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  return Napi::Number::New(info.Env(), ngtls::SendAlert(info, s));
}

// sendAppropriateAlert(code): the alert GnuTLS maps to a handshake failure code, if any.
Napi::Value Session::SendAppropriateAlert(const Napi::CallbackInfo& info) {
  gnutls_session_t s = Live(info);
  DriveScope scope(this);
  return Napi::Number::New(info.Env(), ngtls::SendAppropriateAlert(info, s));
}

Napi::Value Session::LastAlert(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), gnutls_alert_get(Live(info)));
}

Napi::Value Session::TakeEvents(const Napi::CallbackInfo& info) {
  uint32_t ev = events_;
  events_ = 0;
  if (state_) {
    ev |= static_cast<uint32_t>(state_[1]);
    state_[1] = 0;
  }
  return Napi::Number::New(info.Env(), ev);
}

Napi::Value Session::TakeKeylog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (keylog_lines_.empty()) return env.Undefined();
  Napi::Array arr = Napi::Array::New(env, keylog_lines_.size());
  for (size_t i = 0; i < keylog_lines_.size(); i++)
    arr.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, keylog_lines_[i].data(), keylog_lines_[i].size()));
  keylog_lines_.clear();
  if (state_) state_[3] = 0;
  return arr;
}

}  // namespace ngtls
