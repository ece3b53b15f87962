#pragma once
// Gradient buckets: how DataParallel packs many tensors of any size into a few large messages.
//
// One collective per tensor would pay a latency per tensor (a model has hundreds of small
// biases); one collective for everything could not start until the last gradient exists. A
// bucket is the middle: tensors are packed, in the order their gradients become ready, into
// buffers of up to `cap` bytes, and each bucket is reduced as soon as all of its tensors are.
//
// Each bucket holds one "wire" type, the type it is reduced in: a tensor's own type, or float
// for half/bfloat16 gradients accumulated in float. Tensors are never split across buckets; one
// larger than the cap gets a bucket of its own.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "colt/core/types.hpp"

namespace colt::detail {

template <class T>
struct type_tag {
  using type = T;
};

// Calls fn(type_tag<T>{}) for the element type named at run time.
template <class Fn>
decltype(auto) with_data_type(DataType type, Fn&& fn) {
  switch (type) {
    case DataType::float32: return fn(type_tag<float>{});
    case DataType::float64: return fn(type_tag<double>{});
    case DataType::int32: return fn(type_tag<std::int32_t>{});
    case DataType::int64: return fn(type_tag<std::int64_t>{});
    case DataType::float16: return fn(type_tag<half>{});
    case DataType::bfloat16: return fn(type_tag<bfloat16>{});
  }
  return fn(type_tag<float>{});
}

inline std::size_t size_of(DataType type) {
  return with_data_type(type, []<class T>(type_tag<T>) { return sizeof(T); });
}

// A registered tensor, its type erased: parameter and gradient of `count` elements each.
struct TensorSlot {
  DataType type;
  std::byte* param;
  std::byte* grad;
  std::size_t count;
  std::string name;
};

struct BucketEntry {
  std::size_t tensor;  // index into the tensor list
  std::size_t offset;  // first element within the bucket
};

struct Bucket {
  DataType wire = DataType::float32;
  std::vector<BucketEntry> entries;
  std::size_t count = 0;           // elements
  std::vector<std::byte> storage;  // count * size_of(wire) bytes, allocated once

  template <class W>
  std::span<W> view() {
    // operator new aligns for every element type; the bytes hold W objects once written.
    return {reinterpret_cast<W*>(storage.data()), count};
  }
};

// Assigns tensors, taken in `order`, to buckets of at most `cap_bytes` each, per wire type
// (`wire_of(tensor)`). Buckets are numbered in the order they are closed, which is the order
// in which they fill up when gradients arrive in `order`: reducing them in index order never
// waits on a later tensor for longer than needed.
template <class WireOf>
std::vector<Bucket> lay_out_buckets(std::span<const TensorSlot> tensors,
                                    std::span<const std::size_t> order, std::size_t cap_bytes,
                                    WireOf wire_of) {
  std::vector<Bucket> closed;
  std::vector<Bucket> open;  // at most one per wire type
  auto close = [&](std::vector<Bucket>::iterator it) {
    closed.push_back(std::move(*it));
    open.erase(it);
  };
  for (std::size_t t : order) {
    const DataType wire = wire_of(tensors[t]);
    const std::size_t element = size_of(wire);
    auto it =
        std::find_if(open.begin(), open.end(), [&](const Bucket& b) { return b.wire == wire; });
    if (it != open.end() && (it->count + tensors[t].count) * element > cap_bytes) {
      close(it);
      it = open.end();
    }
    if (it == open.end()) {
      open.push_back(Bucket{wire, {}, 0, {}});
      it = open.end() - 1;
    }
    it->entries.push_back({t, it->count});
    it->count += tensors[t].count;
  }
  while (!open.empty()) close(open.begin());
  for (Bucket& b : closed) b.storage.resize(b.count * size_of(b.wire));
  return closed;
}

// out[i] = W(in[i] * scale), computed in double (scale is a weight or 1/weight; the product is
// rounded once, into W). A plain copy when nothing changes.
template <class W, class G>
void convert_scaled(W* out, const G* in, std::size_t n, double scale) {
  if constexpr (std::is_same_v<W, G>) {
    if (scale == 1.0) {
      if (n) std::memcpy(out, in, n * sizeof(W));
      return;
    }
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<W>(static_cast<double>(in[i]) * scale);
}

// Which gradients a bucket reads when packed: a tensor whose gradient was not produced in
// this step contributes zeros, whatever its buffer holds.
enum class Contribution : unsigned char { zero, read };

// Packs the bucket's gradients (or parameters, `from_params`) into its storage, scaled.
inline void pack(Bucket& bucket, std::span<const TensorSlot> tensors,
                 std::span<const Contribution> contributions, double scale,
                 bool from_params = false) {
  with_data_type(bucket.wire, [&]<class W>(type_tag<W>) {
    std::span<W> out = bucket.view<W>();
    for (std::size_t e = 0; e < bucket.entries.size(); ++e) {
      const BucketEntry& entry = bucket.entries[e];
      const TensorSlot& t = tensors[entry.tensor];
      W* dst = out.data() + entry.offset;
      if (contributions[e] == Contribution::zero || scale == 0.0) {
        std::fill(dst, dst + t.count, static_cast<W>(0.0f));
        continue;
      }
      with_data_type(t.type, [&]<class G>(type_tag<G>) {
        const G* src = reinterpret_cast<const G*>(from_params ? t.param : t.grad);
        convert_scaled(dst, src, t.count, scale);
      });
    }
  });
}

// Writes the bucket's reduced values back into the gradients (or parameters), scaled.
inline void unpack(Bucket& bucket, std::span<const TensorSlot> tensors, double scale,
                   bool to_params = false) {
  with_data_type(bucket.wire, [&]<class W>(type_tag<W>) {
    const std::span<W> in = bucket.view<W>();
    for (const BucketEntry& entry : bucket.entries) {
      const TensorSlot& t = tensors[entry.tensor];
      with_data_type(t.type, [&]<class G>(type_tag<G>) {
        G* dst = reinterpret_cast<G*>(to_params ? t.param : t.grad);
        convert_scaled(dst, in.data() + entry.offset, t.count, scale);
      });
    }
  });
}

}  // namespace colt::detail
