#pragma once
// colt::ucx::Context: the process's one UCP context (ucp_init ... ucp_cleanup), shared by every
// worker in the process. In-process ranks each own a worker on their own thread, so the context
// is created with mt_workers_shared: UCX then guards what workers share (memory registration).
// It lives as long as its last worker.

#include "colt/transport/ucx/ucp_h.hpp"

#include <memory>
#include <mutex>

#include "colt/transport/ucx/check.hpp"

namespace colt::ucx {

class Context {
 public:
  // The process's context, created on first use. `rank` only labels an error.
  static std::shared_ptr<Context> shared(int rank) {
    static std::mutex mutex;
    static std::weak_ptr<Context> current;
    std::lock_guard lock(mutex);
    if (auto existing = current.lock()) return existing;
    auto made = std::shared_ptr<Context>(new Context(rank));
    current = made;
    return made;
  }

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { ucp_cleanup(context_); }

  ucp_context_h native() const { return context_; }

 private:
  explicit Context(int rank) {
    // UCX_* environment variables (UCX_TLS, UCX_NET_DEVICES, ...) apply, as for any UCX program.
    ucp_config_t* config = nullptr;
    check(ucp_config_read(nullptr, nullptr, &config), rank, no_peer, "ucp_config_read");
    ucp_params_t params{};
    params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
    // WAKEUP: a rank with nothing to do sleeps on the worker's event descriptor instead of
    // spinning, which matters when ranks outnumber cores (in-process ranks, oversubscribed jobs).
    params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
    params.mt_workers_shared = 1;
    const ucs_status_t status = ucp_init(&params, config, &context_);
    ucp_config_release(config);
    check(status, rank, no_peer, "ucp_init");
  }

  ucp_context_h context_ = nullptr;
};

}  // namespace colt::ucx
