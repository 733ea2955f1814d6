// Who is using a model, for safe use from several threads. Inference (predict, evaluate,
// input_gradient, attacks, transform) may run in any number of threads at once: each call works on
// its own activation buffers and only reads the shared weights. Training and anything else that
// writes the weights or the shared buffers ("writers": fit, train_step, forward/backward,
// reset_parameters, loading) needs the model to itself. A call that cannot have what it needs
// raises std::runtime_error (RuntimeError in Python) naming both operations, before touching
// anything, so a rejected call leaves the model unchanged. The thread that is training may still
// run inference (a callback predicting between batches) and nested writers (a callback's
// train_step): the model is quiescent there.
#pragma once
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace bionn {

class UsageGuard {
 public:
  UsageGuard() = default;
  // A copied object is a new model: it starts unused (so models holding a guard stay copyable).
  UsageGuard(const UsageGuard&) {}
  UsageGuard& operator=(const UsageGuard&) { return *this; }

  // RAII: releases what begin_read/begin_write took.
  class Scope {
   public:
    Scope(UsageGuard& g, const char* op, bool write) : g_(&g), write_(write) {
      write ? g.begin_write(op) : g.begin_read(op);
    }
    ~Scope() {
      if (g_) write_ ? g_->end_write() : g_->end_read();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    UsageGuard* g_;
    bool write_;
  };

  Scope read(const char* op) { return Scope(*this, op, false); }
  Scope write(const char* op) { return Scope(*this, op, true); }

  void begin_read(const char* op) {
    std::lock_guard<std::mutex> lock(m_);
    if (writers_ > 0 && writer_ != std::this_thread::get_id()) throw busy(op, writer_op_);
    ++readers_;
    reader_op_ = op;
  }
  void end_read() {
    std::lock_guard<std::mutex> lock(m_);
    --readers_;
  }
  void begin_write(const char* op) {
    std::lock_guard<std::mutex> lock(m_);
    const auto me = std::this_thread::get_id();
    if (writers_ > 0 && writer_ != me) throw busy(op, writer_op_);
    if (readers_ > 0) throw busy(op, reader_op_);
    if (writers_++ == 0) {
      writer_ = me;
      writer_op_ = op;
    }
  }
  void end_write() {
    std::lock_guard<std::mutex> lock(m_);
    if (--writers_ == 0) writer_ = std::thread::id();
  }
  // For models whose inference runs one call at a time (the self-organizing network): readers
  // hold this while they run.
  std::mutex& serial() { return serial_; }
  // True when no thread uses the model (for tests).
  bool idle() {
    std::lock_guard<std::mutex> lock(m_);
    return readers_ == 0 && writers_ == 0;
  }

 private:
  static std::runtime_error busy(const char* op, const char* other) {
    return std::runtime_error(std::string(op) + ": the model is in use by " + other +
                              " in another thread; training (fit, train_step, forward/backward, "
                              "reset_parameters, loading weights) needs the model to itself, while "
                              "predict, evaluate, input_gradient and the attacks may run concurrently");
  }

  std::mutex m_, serial_;
  int readers_ = 0, writers_ = 0;
  std::thread::id writer_;
  const char* writer_op_ = "";
  const char* reader_op_ = "";
};

}  // namespace bionn
