#pragma once
// The simulated transport's scheduler (transport/sim.hpp): every rank of a simulated job is a
// fiber of the calling thread, and one fiber runs at a time, always the ready one whose virtual
// clock is earliest (ties: the lower rank). So a job of 1,024 ranks needs neither 1,024 threads
// nor a lock, every run of it takes the same course, and the network model prices the messages
// in the order of their virtual send times, as a discrete-event simulation does.
//
// A fiber gives way only inside the transport: when it sends (yield: an earlier fiber may still
// send first), when its clock moves on, and when it waits for a message no fiber has sent yet
// (block). When every unfinished fiber is blocked, no message can ever come: the job is
// deadlocked, and every blocked fiber is woken to fail instead of hanging.

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "colt/core/detail/call_record.hpp"
#include "colt/core/error.hpp"
#include "colt/core/operation.hpp"

namespace colt::sim::detail {

#if defined(__x86_64__)
// A fiber switch without ucontext's system call: swapcontext saves and restores the signal mask
// with rt_sigprocmask on every switch, which was a quarter of a simulated job's time. Pushes the
// callee-saved registers and the x87 and SSE control words on the current stack, stores the
// stack pointer in *from, and continues on the stack `to`, saved the same way (or laid out as
// Fibers::first_frame does).
[[gnu::naked, gnu::noinline]] inline void switch_stacks(void** /*from*/, void* /*to*/) {
  asm volatile(
      "pushq %rbp\n\t"
      "pushq %rbx\n\t"
      "pushq %r12\n\t"
      "pushq %r13\n\t"
      "pushq %r14\n\t"
      "pushq %r15\n\t"
      "subq $16, %rsp\n\t"
      "stmxcsr 8(%rsp)\n\t"
      "fnstcw (%rsp)\n\t"
      "movq %rsp, (%rdi)\n\t"
      "movq %rsi, %rsp\n\t"
      "ldmxcsr 8(%rsp)\n\t"
      "fldcw (%rsp)\n\t"
      "addq $16, %rsp\n\t"
      "popq %r15\n\t"
      "popq %r14\n\t"
      "popq %r13\n\t"
      "popq %r12\n\t"
      "popq %rbx\n\t"
      "popq %rbp\n\t"
      "ret\n\t");
}
#endif

class Fibers {
 public:
  // body(f) runs as fiber f, for f = 0..count-1, each on a stack of its own.
  Fibers(int count, std::function<void(int)> body,
         std::size_t stack_bytes = std::size_t{512} * 1024)
      : body_(std::move(body)),
        stack_bytes_(stack_bytes),
        fibers_(static_cast<std::size_t>(count)) {}
  Fibers(const Fibers&) = delete;
  Fibers& operator=(const Fibers&) = delete;
  ~Fibers() {
    for (Fiber& f : fibers_)
      if (f.stack) ::munmap(f.stack, stack_bytes_ + guard_bytes);
  }

  int count() const { return static_cast<int>(fibers_.size()); }
  int current() const { return current_; }
  double now() const { return at(current_).clock; }
  double clock(int f) const { return at(f).clock; }
  bool deadlocked() const { return deadlocked_; }

  // Runs every fiber to its end, from the calling thread; rethrows nothing: a fiber's exception
  // is kept (error(f)).
  void run() {
    for (int f = 0; f < count(); ++f) {
      Fiber& fiber = at(f);
      void* memory = ::mmap(nullptr, stack_bytes_ + guard_bytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (memory == MAP_FAILED)
        throw Error(ErrorKind::internal, Operation::unnamed, Error::no_rank,
                    "the simulator could not map a stack for rank " + std::to_string(f));
      fiber.stack = memory;
      ::mprotect(memory, guard_bytes, PROT_NONE);  // an overflow faults instead of corrupting
      first_frame(fiber.context, static_cast<char*>(memory) + guard_bytes);
      ready_.push({0.0, f});
    }
    running_ = this;
    Fiber caller;  // the calling thread's own values of the swapped thread-locals
    save_thread_locals(caller);
    const int first = ready_.top().second;
    ready_.pop();
    current_ = first;
    at(first).state = State::running;
    jump(main_, at(first).context);
    restore_thread_locals(caller);
    running_ = nullptr;
  }

  std::exception_ptr error(int f) const { return at(f).error; }
  // The fiber that failed first (in the order they ended), or -1: the cause, where the others'
  // errors (a deadlock: a peer left) follow from it.
  int first_failed() const { return first_failed_; }

  // The current fiber's clock moves on to `t` (never back); fibers now earlier run first.
  void advance_to(double t) {
    Fiber& me = at(current_);
    me.clock = std::max(me.clock, t);
    yield();
  }

  // Lets every ready fiber with an earlier clock run before the current one goes on.
  void yield() {
    if (ready_.empty()) return;
    const Entry mine{at(current_).clock, current_};
    if (!(ready_.top() < mine)) return;
    at(current_).state = State::ready;
    ready_.push(mine);
    switch_to_next();
  }

  // The current fiber waits until wake() names it. False when the job is deadlocked (every
  // unfinished fiber waits): the caller must fail, as must every later block().
  bool block() {
    if (deadlocked_) return false;
    at(current_).state = State::blocked;
    switch_to_next();
    return !deadlocked_;
  }

  // A barrier that costs no virtual time: returns once every fiber has called it, with every
  // clock set to the latest of theirs (sim::start_together).
  double gather_clocks() {
    const int me = current_;
    gathered_.push_back(me);
    latest_ = std::max(latest_, at(me).clock);
    if (static_cast<int>(gathered_.size()) < count()) {
      if (!block())
        throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{me},
                    "the simulated job is deadlocked: not every rank reaches start_together");
      return at(me).clock;
    }
    const double latest = std::exchange(latest_, 0.0);
    for (int f : gathered_)
      if (f != me) wake(f, latest);
    gathered_.clear();
    at(me).clock = latest;
    yield();
    return latest;
  }

  // A blocked fiber may go on, its clock at least `at_time`; a fiber that is not blocked is left
  // as it is (it will find what it waits for when it looks).
  void wake(int f, double at_time) {
    Fiber& fiber = at(f);
    if (fiber.state != State::blocked) return;
    fiber.clock = std::max(fiber.clock, at_time);
    fiber.state = State::ready;
    ready_.push({fiber.clock, f});
  }

 private:
  enum class State { ready, running, blocked, done };
  using Entry = std::pair<double, int>;  // (clock, fiber): the earliest first, then the lower
  // Where a fiber that is not running goes on from.
  struct Context {
#if defined(__x86_64__)
    void* stack_pointer = nullptr;
#else
    ucontext_t saved{};
#endif
  };
  struct Fiber {
    Context context;
    void* stack = nullptr;
    double clock = 0;
    State state = State::ready;
    std::exception_ptr error;
    // colt's thread-locals that belong to a rank, not to the thread: swapped with the fiber.
    colt::detail::CallRecord* call = nullptr;
    colt::detail::RecordHandle queued{};
  };
  static constexpr std::size_t guard_bytes = 4096;

  static void jump(Context& from, Context& to) {
#if defined(__x86_64__)
    switch_stacks(&from.stack_pointer, to.stack_pointer);
#else
    ::swapcontext(&from.saved, &to.saved);
#endif
  }
  // Lays out a fresh stack so that the first jump to it enters entry().
  void first_frame(Context& context, char* stack) {
#if defined(__x86_64__)
    // What switch_stacks pops, from the stack pointer up: the x87 control word, MXCSR, r15, r14,
    // r13, r12, rbx, rbp, the address it returns to (entry), and the slot of entry's own return
    // address (entry never returns), which leaves the stack as a call would: 8 past 16-aligned.
    char* top = stack + stack_bytes_;
    top -= reinterpret_cast<std::uintptr_t>(top) % 16;
    auto* frame = reinterpret_cast<std::uint64_t*>(top) - 10;
    std::fill(frame, frame + 10, std::uint64_t{0});
    frame[0] = 0x037F;  // the x87 control word and MXCSR at their defaults
    frame[1] = 0x1F80;
    frame[8] = reinterpret_cast<std::uintptr_t>(&Fibers::entry);
    context.stack_pointer = frame;
#else
    ::getcontext(&context.saved);
    context.saved.uc_stack.ss_sp = stack;
    context.saved.uc_stack.ss_size = stack_bytes_;
    context.saved.uc_link = nullptr;  // entry() never returns
    ::makecontext(&context.saved, &Fibers::entry, 0);
#endif
  }

  Fiber& at(int f) { return fibers_[static_cast<std::size_t>(f)]; }
  const Fiber& at(int f) const { return fibers_[static_cast<std::size_t>(f)]; }

  static void entry() {
    Fibers& self = *running_;
    const int f = self.current_;
    try {
      self.body_(f);
    } catch (...) {
      self.at(f).error = std::current_exception();
      if (self.first_failed_ < 0) self.first_failed_ = f;
    }
    self.at(f).state = State::done;
    self.switch_to_next();  // never returns: a finished fiber is never ready again
  }

  // Hands the thread to the earliest ready fiber; with none ready, wakes every blocked one to
  // fail (deadlock), or returns to run() once every fiber is done.
  void switch_to_next() {
    if (ready_.empty()) {
      bool any_blocked = false;
      for (int f = 0; f < count(); ++f)
        if (at(f).state == State::blocked) {
          any_blocked = true;
          deadlocked_ = true;
          wake(f, at(f).clock);
        }
      if (!any_blocked) {
        save_thread_locals(at(current_));
        jump(at(current_).context, main_);
        return;
      }
    }
    const int next = ready_.top().second;
    ready_.pop();
    Fiber& from = at(current_);
    Fiber& to = at(next);
    to.state = State::running;
    if (next == current_) return;
    save_thread_locals(from);
    current_ = next;
    restore_thread_locals(to);
    jump(from.context, to.context);
  }
  static void save_thread_locals(Fiber& f) {
    f.call = colt::detail::call_on_this_thread;
    f.queued = colt::detail::queued_call_on_this_thread;
  }
  static void restore_thread_locals(const Fiber& f) {
    colt::detail::call_on_this_thread = f.call;
    colt::detail::queued_call_on_this_thread = f.queued;
  }

  static inline thread_local Fibers* running_ = nullptr;  // entry() has no argument to carry it

  std::function<void(int)> body_;
  std::size_t stack_bytes_;
  std::vector<Fiber> fibers_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> ready_;
  Context main_;
  std::vector<int> gathered_;  // the fibers in gather_clocks, waiting for the others
  double latest_ = 0;          // their latest clock
  int current_ = 0;
  int first_failed_ = -1;
  bool deadlocked_ = false;
};

}  // namespace colt::sim::detail
