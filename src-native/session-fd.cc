// Session, fd fast path: an established session whose transport is a plain socket (a net.Socket
// over TCP or a Unix socket) reads and writes ciphertext on a duplicate of that socket's
// descriptor, polled by its own libuv handle, instead of through the JS stream. Reads land in
// the environment's read buffer and are decrypted from there (no copy, no JS Buffer); GnuTLS's
// records go out with one sendmsg per push, and what the socket does not take waits here until
// it is writable. What happens is reported to JS through one callback, never from inside GnuTLS.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <algorithm>

#include "addon.h"
#include "session.h"

namespace ngtls {
namespace {

constexpr size_t kReadChunk = 64 * 1024;     // ciphertext per read (as libuv)
constexpr int kReadsPerEvent = 32;           // reads per readable event, at most (as libuv)
constexpr size_t kKeepCapacity = 32 * 1024;  // write-queue capacity a drained session may keep

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

// The poll handle lives until libuv's close callback, which may come after the session is gone.
struct FdPoll {
  uv_poll_t handle;
  Session* owner;
};

// attachFd(fd, callback(kind, value)): from now on ciphertext goes to and comes from a duplicate
// of fd (the caller stops its own stream from reading). Returns 0 or a negative errno.
// kind: 1 read (value bytes are queued: decrypt them now), 2 EOF, 3 read error (-errno),
// 4 the write queue drained, 5 write error (-errno).
Napi::Value Session::AttachFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Live(info);
  if (fd_ >= 0) return Napi::Number::New(env, 0);
  int fd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return Napi::Number::New(env, -EINVAL);
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Napi::Number::New(env, -errno);
  auto* poll = new FdPoll();
  int r = uv_poll_init(loop, &poll->handle, dup);
  if (r < 0) {
    delete poll;
    close(dup);
    return Napi::Number::New(env, r);
  }
  poll->owner = this;
  poll->handle.data = poll;
  poll_ = poll;
  fd_ = dup;
  fd_events_ = 0;
  fd_error_ = 0;
  fd_error_told_ = false;
  fd_cb_ = Napi::Persistent(info[1].As<Napi::Function>());
  fd_async_ = std::make_unique<Napi::AsyncContext>(env, "node-gnutls:socket");
  Settle(true);  // reads from now on come from the read buffer
  PublishState();
  return Napi::Number::New(env, 0);
}

// fdRead(on): poll for input (only while JS can take what it decrypts).
Napi::Value Session::FdRead(const Napi::CallbackInfo& info) {
  fd_reading_ = info[0].ToBoolean();
  UpdatePoll();
  return info.Env().Undefined();
}

// fdRef(on): whether the poll handle keeps the event loop alive (the socket's ref()/unref()).
Napi::Value Session::FdRef(const Napi::CallbackInfo& info) {
  fd_ref_ = info[0].ToBoolean();
  if (poll_) {
    if (fd_ref_) uv_ref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
    else uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
  }
  return info.Env().Undefined();
}

// fdBytesWritten(): ciphertext handed to the descriptor so far, sent or waiting (the transport's
// bytesWritten counts it, as it counts what its stream buffers). Readable after close.
Napi::Value Session::FdBytesWritten(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(fd_bytes_out_));
}

void Session::DetachFd() {
  if (fd_ < 0) return;
  poll_->owner = nullptr;
  // While the environment goes away (a worker exits) the addon may be unloaded before libuv runs
  // close callbacks: then the handle closes with none and its few bytes stay allocated.
  if (env_gone_) uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), nullptr);
  else uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), [](uv_handle_t* h) { delete static_cast<FdPoll*>(h->data); });
  poll_ = nullptr;
  close(fd_);  // the socket itself closes with the transport's descriptor
  fd_ = -1;
  fd_reading_ = false;
  fd_events_ = 0;
  std::vector<uint8_t>().swap(fd_out_);
  fd_out_off_ = 0;
  if (!fd_cb_.IsEmpty()) fd_cb_.Reset();
  fd_async_.reset();
}

void Session::UpdatePoll() {
  // The state array follows the queue at once (JS reads it after nested calls too).
  if (state_) {
    state_[5] = static_cast<int32_t>(std::min<size_t>(fd_out_.size() - fd_out_off_, INT32_MAX));
    state_[6] = -fd_error_;
  }
  if (!poll_) return;
  // A write error found inside GnuTLS is reported from the next poll (never from GnuTLS's stack).
  bool writable = fd_out_off_ < fd_out_.size() || (fd_error_ != 0 && !fd_error_told_);
  int want = (fd_reading_ ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  if (want == fd_events_) return;
  if (want == 0) uv_poll_stop(&poll_->handle);
  else uv_poll_start(&poll_->handle, want, OnPoll);
  fd_events_ = want;
}

ssize_t Session::SendFd(const struct iovec* iov, int iovcnt) {
  msghdr msg{};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(iovcnt);
  for (;;) {
    ssize_t n = fd_is_socket_ ? sendmsg(fd_, &msg, MSG_NOSIGNAL) : writev(fd_, iov, iovcnt);
    if (n < 0 && errno == ENOTSOCK && fd_is_socket_) {
      fd_is_socket_ = false;  // a pipe: plain writes (SIGPIPE is ignored in Node)
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

// GnuTLS's push while attached: out at once as far as the socket takes it, the rest queued (in
// order behind anything already queued). A write error is kept and reported; what follows it
// is dropped (the connection is lost).
ssize_t Session::PushFd(const giovec_t* iov, int iovcnt, size_t total) {
  if (fd_error_ != 0) return static_cast<ssize_t>(total);
  fd_bytes_out_ += total;
  if (addon_->fd_batch_owner == this) {
    std::vector<uint8_t>& b = addon_->fd_batch;
    for (int i = 0; i < iovcnt; i++) {
      const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
      b.insert(b.end(), p, p + iov[i].iov_len);
    }
    return static_cast<ssize_t>(total);
  }
  size_t sent = 0;
  if (fd_out_off_ == fd_out_.size()) {
    ssize_t n = SendFd(reinterpret_cast<const struct iovec*>(iov), iovcnt);
    if (n >= 0) sent = static_cast<size_t>(n);
    else if (!WouldBlock(errno)) {
      fd_error_ = errno;
      UpdatePoll();
      return static_cast<ssize_t>(total);
    }
  }
  if (sent == total) return static_cast<ssize_t>(total);
  size_t skip = sent;
  for (int i = 0; i < iovcnt; i++) {
    const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    fd_out_.insert(fd_out_.end(), p + skip, p + len);
    skip = 0;
  }
  UpdatePoll();
  return static_cast<ssize_t>(total);
}

// A send() while attached: its records are gathered in the environment's write buffer and go out
// with one call when it ends (one syscall per batch instead of one per record).
Session::FdBatch::FdBatch(Session* s) : s_(s) {
  Addon* a = s->addon_;
  active_ = s->fd_ >= 0 && a->fd_batch_owner == nullptr;
  if (!active_) return;
  a->fd_batch_owner = s;
  a->fd_batch.clear();
}

Session::FdBatch::~FdBatch() {
  if (!active_) return;
  Addon* a = s_->addon_;
  a->fd_batch_owner = nullptr;
  std::vector<uint8_t>& b = a->fd_batch;
  if (b.empty() || s_->fd_ < 0 || s_->fd_error_ != 0) return;
  if (s_->fd_out_off_ == s_->fd_out_.size()) {
    struct iovec v = {b.data(), b.size()};
    ssize_t n = s_->SendFd(&v, 1);
    size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
    if (n < 0 && !WouldBlock(errno)) s_->fd_error_ = errno;
    else if (sent < b.size()) s_->fd_out_.insert(s_->fd_out_.end(), b.begin() + static_cast<std::ptrdiff_t>(sent), b.end());
  } else {
    s_->fd_out_.insert(s_->fd_out_.end(), b.begin(), b.end());
  }
  if (b.capacity() > (2u << 20)) std::vector<uint8_t>().swap(b);
  s_->UpdatePoll();
}

// Writes what is queued; false on a write error (kept in fd_error_).
bool Session::FlushFd() {
  while (fd_out_off_ < fd_out_.size()) {
    struct iovec v = {fd_out_.data() + fd_out_off_, fd_out_.size() - fd_out_off_};
    ssize_t n = SendFd(&v, 1);
    if (n >= 0) {
      fd_out_off_ += static_cast<size_t>(n);
      continue;
    }
    if (WouldBlock(errno)) break;
    fd_error_ = errno;
    fd_out_off_ = fd_out_.size();
    break;
  }
  if (fd_out_off_ == fd_out_.size()) {
    fd_out_off_ = 0;
    if (fd_out_.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(fd_out_);
    else fd_out_.clear();
  }
  UpdatePoll();
  return fd_error_ == 0;
}

void Session::OnPoll(uv_poll_t* handle, int status, int events) {
  Session* self = static_cast<FdPoll*>(handle->data)->owner;
  if (self) self->HandlePoll(status, events);
}

// No CallScope here: GnuTLS is not on the stack, so a close() from the callback takes effect at
// once (DetachFd clears fd_), and each step below checks for it.
void Session::HandlePoll(int status, int events) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Value thrown;
  if (status < 0) {
    // POLLERR: libuv stopped the handle. The socket's own error comes from the read (or the
    // write) that meets it.
    fd_events_ = 0;
    if (fd_error_ == 0 && fd_out_off_ < fd_out_.size()) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) err = -status;
      fd_error_ = err;
      fd_out_off_ = fd_out_.size();
    }
    events = UV_READABLE;
  }
  if (fd_error_ != 0 && !fd_error_told_) {
    fd_error_told_ = true;
    Notify(5, -fd_error_, &thrown);
  } else if ((events & UV_WRITABLE) && fd_out_off_ < fd_out_.size()) {
    if (!FlushFd()) {
      fd_error_told_ = true;
      Notify(5, -fd_error_, &thrown);
    } else if (fd_out_.empty()) {
      Notify(4, 0, &thrown);
    }
  }
  if ((events & UV_READABLE) && fd_reading_ && fd_ >= 0 && thrown.IsEmpty()) ReadFd(&thrown);
  UpdatePoll();
  if (!thrown.IsEmpty()) napi_fatal_exception(env, thrown);
}

// Reads while each read fills the buffer (the socket likely holds more), up to kReadsPerEvent
// reads per readable event, as libuv does for its streams: one poll wakeup per up to 2 MiB.
void Session::ReadFd(Napi::Value* thrown) {
  std::vector<uint8_t>& buf = addon_->fd_read_buf;
  if (buf.size() < kReadChunk) buf.resize(kReadChunk);
  ssize_t n;
  for (int reads = 0;; reads++) {
    do n = read(fd_, buf.data(), buf.size());
    while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    in_.SetExternal(buf.data(), static_cast<size_t>(n));
    PublishState();
    Notify(1, static_cast<double>(n), thrown);
    in_.AdoptExternal();  // what JS did not decrypt yet stays queued here (a no-op once closed)
    bool more = static_cast<size_t>(n) == buf.size() && reads + 1 < kReadsPerEvent;
    if (!more || !fd_reading_ || fd_ < 0 || !thrown->IsEmpty()) return;
  }
  if (n < 0 && WouldBlock(errno)) return;
  fd_reading_ = false;
  UpdatePoll();
  Notify(n == 0 ? 2 : 3, n == 0 ? 0 : -errno, thrown);
}

void Session::Notify(int kind, double value, Napi::Value* thrown) {
  if (fd_ < 0 || fd_cb_.IsEmpty() || !thrown->IsEmpty()) return;
  Napi::Env env = Env();
  try {
    fd_cb_.MakeCallback(Value(), {Napi::Number::New(env, kind), Napi::Number::New(env, value)}, *fd_async_);
  } catch (const Napi::Error& e) {
    *thrown = e.Value();  // rethrown as an uncaught exception once this session is settled
  }
}

}  // namespace ngtls
