// Runs the op_host tiling functions and the op_kernel kernels of ascend_kernels/ on the recording
// stubs of ascend_kernels/tests/stubs (no CANN): for each case line on stdin it calls the tiling
// function that OP_ADD registered, then the kernel block by block, and prints one JSON line with
// what the stubs recorded. Built by tests/ascend/test_ub_budget.py; the kernels are compiled once per
// dtype with their entry renamed <entry>_<dtype>.
//
// Case lines:
//   <LorentzDistance|LorentzDistanceGrad> <dtype> <cores> <ubBytes> <n> <m> <d> <mode> <eps>
//   <FPDiffusionStencil|FPDiffusionStencilGrad> <dtype> <cores> <ubBytes> <L> <T> <dt> <cfl>
//   probe <op> <dtype> <ubBytes>     -> largest d (Lorentz, n = m = 1) or T (stencil, L = 1) accepted
// Output keys: status (0 = tiling accepted), blockDim, tilingBytes, ub (largest sum of InitBuffer
// bytes over blocks), writes {output: [min, max] writes per element}, violations [..].
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_operator.h"
#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

// Kernel entries, compiled once per dtype (see the file comment).
extern "C" {
void lorentz_distance_float(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void lorentz_distance_half(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void lorentz_distance_bfloat16_t(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void lorentz_distance_grad_float(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void lorentz_distance_grad_half(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void lorentz_distance_grad_bfloat16_t(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR,
                                      GM_ADDR);
void fp_diffusion_stencil_float(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void fp_diffusion_stencil_half(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void fp_diffusion_stencil_bfloat16_t(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void fp_diffusion_stencil_grad_float(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void fp_diffusion_stencil_grad_half(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
void fp_diffusion_stencil_grad_bfloat16_t(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);
}

namespace aam_stub {
// Builds the gert contexts of the stubs.
struct HostAccess {
  static void Input(gert::TilingContext& c, std::vector<int64_t> dims, ge::DataType dt) {
    gert::StorageShape s;
    s.shape_.dims_ = std::move(dims);
    c.in_.push_back(s);
    gert::CompileTimeTensorDesc d;
    d.dtype_ = dt;
    c.desc_.push_back(d);
  }
  template <typename A> static void Attr(gert::TilingContext& c, A v) {
    std::vector<uint8_t> b(sizeof(A));
    std::memcpy(b.data(), &v, sizeof(A));
    c.attrs_.attrs_.push_back(b);
  }
  static void Platform(gert::TilingContext& c, fe::PlatFormInfos* p, uint32_t cores, uint64_t ub) {
    p->aivCores = cores;
    p->ubBytes = ub;
    c.platform_ = p;
  }
  static uint32_t BlockDim(const gert::TilingContext& c) { return c.blockDim_; }
  static size_t DataSize(const gert::TilingContext& c) { return c.tiling_.size_; }
  static uint8_t* Data(gert::TilingContext& c) { return c.tiling_.data_.data(); }
};
}  // namespace aam_stub

namespace {
using aam_stub::HostAccess;

struct Case {
  std::string op, dtype;
  uint32_t cores = 48;
  uint64_t ub = 192 * 1024;
  int64_t a = 1, b = 1, c = 1;  // Lorentz: n, m, d; stencil: L, T
  int64_t mode = 0;
  float f = 0.f;  // eps (Lorentz) or dt (stencil)
  bool cfl = false;
};

bool IsLorentz(const std::string& op) { return op.rfind("Lorentz", 0) == 0; }
ge::DataType Ge(const std::string& dtype) {
  return dtype == "float" ? ge::DT_FLOAT : dtype == "half" ? ge::DT_FLOAT16 : ge::DT_BF16;
}
size_t Bytes(const std::string& dtype) { return dtype == "float" ? 4 : 2; }

// Calls the registered tiling function; returns its status.
uint32_t Tiling(const Case& k, gert::TilingContext& ctx, fe::PlatFormInfos& plat) {
  const ge::DataType dt = Ge(k.dtype);
  if (IsLorentz(k.op)) {
    HostAccess::Input(ctx, {k.a, k.c}, dt);
    HostAccess::Input(ctx, {k.b, k.c}, dt);
    HostAccess::Input(ctx, {1}, dt);
    if (k.op == "LorentzDistanceGrad") HostAccess::Input(ctx, {k.mode == 0 ? k.a * k.b : k.a}, dt);
    HostAccess::Attr<int64_t>(ctx, k.mode);
    HostAccess::Attr<float>(ctx, k.f);
  } else {
    const int n = k.op == "FPDiffusionStencilGrad" ? 3 : 2;
    for (int i = 0; i < n; ++i) HostAccess::Input(ctx, {k.a, k.b}, dt);
    HostAccess::Attr<float>(ctx, k.f);
    HostAccess::Attr<bool>(ctx, k.cfl);
  }
  HostAccess::Platform(ctx, &plat, k.cores, k.ub);
  auto it = aam_stub::OpRegistry().find(k.op);
  if (it == aam_stub::OpRegistry().end()) return 0xFFFFFFFEu;
  return it->second(&ctx);
}

struct Gm {
  std::string name;
  std::vector<uint8_t> bytes;
  Gm(std::string n, size_t elems, size_t elemBytes, bool output) : name(std::move(n)), bytes(elems * elemBytes + 64) {
    if (output) {
      aam_stub::Recorder::Output o;
      o.base = reinterpret_cast<uintptr_t>(bytes.data());
      o.elems = elems;
      o.elemBytes = elemBytes;
      o.writes.assign(elems, 0);
      aam_stub::Rec().outputs[name] = o;
    }
  }
  uint8_t* p() { return bytes.data(); }
};

void Run(const Case& k) {
  aam_stub::Recorder& rec = aam_stub::Rec();
  rec = aam_stub::Recorder();
  gert::TilingContext ctx;
  fe::PlatFormInfos plat;
  const uint32_t status = Tiling(k, ctx, plat);
  std::printf("{\"status\": %u", status);
  if (status == 0) {
    const uint32_t blockDim = HostAccess::BlockDim(ctx);
    uint8_t* td = HostAccess::Data(ctx);
    const size_t e = Bytes(k.dtype);
    const std::string& t = k.dtype;
    std::vector<Gm> gm;
    gm.reserve(8);
    std::vector<uint8_t> ws(64);
    if (IsLorentz(k.op)) {
      const size_t n = k.a, m = k.b, d = k.c, nz = k.mode == 0 ? n * m : n;
      gm.emplace_back("x", n * d, e, false);
      gm.emplace_back("y", m * d, e, false);
      gm.emplace_back("curv", 1, e, false);
      if (k.op == "LorentzDistance") {
        gm.emplace_back("z", nz, e, true);
      } else {
        gm.emplace_back("dout", nz, e, false);
        gm.emplace_back("dx", n * d, e, true);
        gm.emplace_back("dy", m * d, e, true);
        gm.emplace_back("dcurv_rows", n, e, true);
      }
    } else {
      const size_t n = size_t(k.a) * k.b;
      if (k.op == "FPDiffusionStencil") {
        gm.emplace_back("rho", n, e, false);
        gm.emplace_back("nu", n, e, false);
        gm.emplace_back("out", n, e, true);
      } else {
        gm.emplace_back("dout", n, e, false);
        gm.emplace_back("rho", n, e, false);
        gm.emplace_back("nu", n, e, false);
        gm.emplace_back("drho", n, e, true);
        gm.emplace_back("dnu", n, e, true);
      }
    }
    rec.blockNum = blockDim;
    for (uint32_t b = 0; b < blockDim; ++b) {
      rec.blockIdx = b;
      if (k.op == "LorentzDistance") {
        auto f = t == "float" ? lorentz_distance_float : t == "half" ? lorentz_distance_half
                                                                     : lorentz_distance_bfloat16_t;
        f(gm[0].p(), gm[1].p(), gm[2].p(), gm[3].p(), ws.data(), td);
      } else if (k.op == "LorentzDistanceGrad") {
        auto f = t == "float" ? lorentz_distance_grad_float : t == "half" ? lorentz_distance_grad_half
                                                                          : lorentz_distance_grad_bfloat16_t;
        f(gm[0].p(), gm[1].p(), gm[2].p(), gm[3].p(), gm[4].p(), gm[5].p(), gm[6].p(), ws.data(), td);
      } else if (k.op == "FPDiffusionStencil") {
        auto f = t == "float" ? fp_diffusion_stencil_float : t == "half" ? fp_diffusion_stencil_half
                                                                         : fp_diffusion_stencil_bfloat16_t;
        f(gm[0].p(), gm[1].p(), gm[2].p(), ws.data(), td);
      } else {
        auto f = t == "float" ? fp_diffusion_stencil_grad_float : t == "half" ? fp_diffusion_stencil_grad_half
                                                                              : fp_diffusion_stencil_grad_bfloat16_t;
        f(gm[0].p(), gm[1].p(), gm[2].p(), gm[3].p(), gm[4].p(), ws.data(), td);
      }
    }
    std::printf(", \"blockDim\": %u, \"tilingBytes\": %zu, \"ub\": %llu, \"writes\": {", blockDim,
                HostAccess::DataSize(ctx), static_cast<unsigned long long>(rec.maxUbBytes));
    bool first = true;
    for (auto& kv : rec.outputs) {
      uint32_t lo = ~0u, hi = 0;
      for (uint32_t w : kv.second.writes) lo = std::min(lo, w), hi = std::max(hi, w);
      if (kv.second.writes.empty()) lo = 0;
      std::printf("%s\"%s\": [%u, %u]", first ? "" : ", ", kv.first.c_str(), lo, hi);
      first = false;
    }
    std::printf("}, \"violations\": [");
    for (size_t v = 0; v < rec.violations.size(); ++v) {
      std::printf("%s\"%s\"", v ? ", " : "", rec.violations[v].c_str());
    }
    std::printf("]");
  }
  std::printf("}\n");
}

// Largest d (Lorentz) or T (stencil) that the tiling function accepts, by bisection up to 2^20.
int64_t Probe(const std::string& op, const std::string& dtype, uint64_t ub) {
  auto accept = [&](int64_t v) {
    Case k;
    k.op = op, k.dtype = dtype, k.ub = ub, k.f = IsLorentz(op) ? 1e-4f : 0.2f, k.cfl = true;
    if (IsLorentz(op)) k.c = v;
    else k.b = v;
    gert::TilingContext ctx;
    fe::PlatFormInfos plat;
    return Tiling(k, ctx, plat) == 0;
  };
  if (!accept(1)) return 0;
  int64_t lo = 1, hi = int64_t{1} << 20;
  if (accept(hi)) return hi;
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    (accept(mid) ? lo : hi) = mid;
  }
  return lo;
}
}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::istringstream in(line);
    Case k;
    in >> k.op;
    if (k.op == "probe") {
      std::string op, dtype;
      uint64_t ub = 0;
      in >> op >> dtype >> ub;
      std::printf("{\"max\": %lld}\n", static_cast<long long>(Probe(op, dtype, ub)));
    } else if (IsLorentz(k.op)) {
      in >> k.dtype >> k.cores >> k.ub >> k.a >> k.b >> k.c >> k.mode >> k.f;
      Run(k);
    } else {
      int cfl = 0;
      in >> k.dtype >> k.cores >> k.ub >> k.a >> k.b >> k.f >> cfl;
      k.cfl = cfl != 0;
      Run(k);
    }
    std::fflush(stdout);
  }
  return 0;
}
