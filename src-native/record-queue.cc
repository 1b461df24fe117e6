#include "record-queue.h"

#include <algorithm>
#include <cstring>

namespace ngtls {
namespace {
constexpr size_t kKeepCapacity = 32 * 1024;  // capacity a drained queue may keep
}

void RecordQueue::Append(const uint8_t* p, size_t n) {
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(off_));
    off_ = 0;
  }
  buf_.insert(buf_.end(), p, p + n);
}

void RecordQueue::SetExternal(const uint8_t* p, size_t n) {
  AdoptExternal();
  ext_ = p;
  ext_len_ = n;
  ext_off_ = 0;
}

void RecordQueue::AdoptExternal() {
  if (ext_ == nullptr) return;
  if (ext_off_ < ext_len_) Append(ext_ + ext_off_, ext_len_ - ext_off_);
  ext_ = nullptr;
  ext_len_ = ext_off_ = 0;
}

uint8_t RecordQueue::At(size_t i) const {
  size_t internal = Internal();
  return i < internal ? buf_[off_ + i] : ext_[ext_off_ + (i - internal)];
}

size_t RecordQueue::Take(uint8_t* dst, size_t n) {
  size_t done = 0;
  size_t k = std::min(n, Internal());
  if (k > 0) {
    const uint8_t* src = buf_.data() + off_;
    std::memcpy(dst, src, k);
    Track(src, k);
    off_ += k;
    done = k;
  }
  if (done < n) {
    const uint8_t* src = ext_ + ext_off_;
    k = n - done;
    std::memcpy(dst + done, src, k);
    Track(src, k);
    ext_off_ += k;
    done = n;
  }
  consumed_ += done;
  return done;
}

size_t RecordQueue::Pull(uint8_t* dst, size_t len, bool holdAppData) {
  size_t n = std::min(Pending(), len);
  if (holdAppData) n = std::min(n, Allowance());
  return n == 0 ? 0 : Take(dst, n);
}

void RecordQueue::Track(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (body_left_ > 0) {
      size_t k = std::min(n, body_left_);
      body_left_ -= k;
      p += k;
      n -= k;
      continue;
    }
    if (hdr_seen_ == 0) cur_type_ = *p;
    hdr_[hdr_seen_++] = *p++;
    n--;
    if (hdr_seen_ == 5) {
      body_left_ = (size_t{hdr_[3]} << 8) | hdr_[4];
      hdr_seen_ = 0;
    }
  }
}

int RecordQueue::NextType() const {
  if (hdr_seen_ > 0 || body_left_ > 0) return cur_type_;  // inside a record
  return Pending() > 0 ? At(0) : -1;
}

// While holding application data: up to the end of the current record, or of the next one when
// it is not application data (its header may still be incomplete: then just the header bytes).
size_t RecordQueue::Allowance() const {
  if (NextType() == kApplicationData) return 0;
  if (hdr_seen_ > 0) return 5 - hdr_seen_;
  if (body_left_ > 0) return body_left_;
  size_t avail = Pending();
  if (avail < 5) return avail;
  return 5 + ((size_t{At(3)} << 8) | At(4));
}

void RecordQueue::Trim() {
  if (off_ != buf_.size()) return;
  off_ = 0;
  if (buf_.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(buf_);
  else buf_.clear();
}

void RecordQueue::Clear() {
  std::vector<uint8_t>().swap(buf_);
  off_ = 0;
  ext_ = nullptr;
  ext_len_ = ext_off_ = 0;
}

}  // namespace ngtls
