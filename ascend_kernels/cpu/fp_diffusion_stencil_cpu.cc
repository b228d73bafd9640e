// CPU twin of the AscendC FPDiffusionStencil / FPDiffusionStencilGrad kernels (op_kernel/).
//
// rho, nu: (L, T), row-major, T contiguous. Tiles hold whole rows (FPD_CPU_TILE_LEN / T rows), tiles are
// split into contiguous ranges over blocks (the AscendC tile length comes from the UB budget in op_host;
// every element is computed independently, so results do not depend on it). Per interior element (1 <= t <= T-2), same order as the
// AscendC kernel:
//   k = dt * nu_t (then min(k, 0.5) with cfl),  lap = (rho_{t-1} - 2*rho_t) + rho_{t+1},
//   out_t = rho_t + k * lap;  boundary frames and T < 3 copy rho.
// Backward: drho_s = g_s*(1 - 2k_s) + g_{s-1}*k_{s-1} + g_{s+1}*k_{s+1} (k = 0 on boundaries),
//           dnu_t = (g_t * lap_t) * dt where the CFL clamp does not bind, else 0.
// MindSpore aot CPU signature; attrs (2,) = {dt, cfl}, fp32 only.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int64_t FPD_CPU_TILE_LEN = 8192;  // elements per CPU work tile (whole rows)
constexpr float FPD_CFL_MAX = 0.5f;         // CFL bound on dt * nu: identical to op_host/fp_diffusion_stencil_tiling.h
// Elements below which one thread is faster than waking a team on a shared 2-core host.
constexpr int64_t FPD_PARALLEL_MIN = int64_t{1} << 20;

struct Tiling {
  int64_t rows, t, rowsPerTile, tiles, blockDim, tilesPerBlock;
};

int Threads() {
  const char* s = std::getenv("AAM_KERNEL_THREADS");
  int t = s ? std::atoi(s) : 2;
  return t > 0 ? t : 1;
}

Tiling MakeTiling(int64_t rows, int64_t t, int64_t coreNum) {
  Tiling x{rows, t, 1, 0, 1, 0};
  x.rowsPerTile = std::max<int64_t>(1, FPD_CPU_TILE_LEN / std::max<int64_t>(t, 1));
  x.tiles = (rows + x.rowsPerTile - 1) / x.rowsPerTile;
  const int64_t bd = std::max<int64_t>(1, std::min<int64_t>(coreNum, x.tiles));
  x.tilesPerBlock = (x.tiles + bd - 1) / bd;
  x.blockDim = x.tilesPerBlock > 0 ? (x.tiles + x.tilesPerBlock - 1) / x.tilesPerBlock : 1;
  return x;
}

// The AscendC grid: block b (one AI core) walks its tiles of rowsPerTile rows in order.
template <typename RowsFn>
void ForEachTile(const Tiling& tl, RowsFn rows) {
#pragma omp parallel for num_threads(Threads()) schedule(static) if (tl.rows * tl.t >= FPD_PARALLEL_MIN)
  for (int64_t b = 0; b < tl.blockDim; ++b) {
    const int64_t tile1 = std::min(tl.tiles, (b + 1) * tl.tilesPerBlock);
    for (int64_t tile = b * tl.tilesPerBlock; tile < tile1; ++tile) {
      const int64_t r0 = tile * tl.rowsPerTile;
      rows(r0, std::min(tl.rows, r0 + tl.rowsPerTile));
    }
  }
}

inline float Coef(float nu, float dt, bool cfl) {
  const float k = dt * nu;
  return cfl ? std::min(k, FPD_CFL_MAX) : k;
}

void ForwardRows(const float* rho, const float* nu, float* out, int64_t r0, int64_t r1, int64_t T, float dt,
                 bool cfl) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* p = rho + r * T;
    const float* v = nu + r * T;
    float* o = out + r * T;
    o[0] = p[0];
    for (int64_t t = 1; t < T - 1; ++t) {
      const float lap = (p[t - 1] - 2.0f * p[t]) + p[t + 1];
      o[t] = p[t] + Coef(v[t], dt, cfl) * lap;
    }
    o[T - 1] = p[T - 1];
  }
}

void BackwardRows(const float* g, const float* rho, const float* nu, float* drho, float* dnu, int64_t r0, int64_t r1,
                  int64_t T, float dt, bool cfl) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* p = rho + r * T;
    const float* v = nu + r * T;
    const float* gr = g + r * T;
    float* dr = drho + r * T;
    float* dv = dnu + r * T;
    // gk_t = g_t * k_t (0 on boundaries): the gradient of lap_t.
    float gkPrev = 0.f, gkCur = 0.f;
    dv[0] = 0.f;
    dv[T - 1] = 0.f;
    for (int64_t t = 0; t < T; ++t) {
      const bool interior = t > 0 && t < T - 1;
      const float k = interior ? Coef(v[t], dt, cfl) : 0.f;
      gkCur = gr[t] * k;
      if (interior) {
        const float lap = (p[t - 1] - 2.0f * p[t]) + p[t + 1];
        const bool pass = !cfl || dt * v[t] <= FPD_CFL_MAX;
        dv[t] = pass ? (gr[t] * lap) * dt : 0.f;
      }
      const float gkNext = (t + 1 < T - 1) ? gr[t + 1] * Coef(v[t + 1], dt, cfl) : 0.f;
      dr[t] = (gr[t] - 2.0f * gkCur) + (gkPrev + gkNext);
      gkPrev = gkCur;
    }
  }
}

bool AllFloat32(int nparam, const char** dtypes) {
  for (int i = 0; i < nparam; ++i)
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  return true;
}

}  // namespace

// params: rho (L,T), nu (L,T), attrs (2,) = {dt, cfl}, out (L,T)
extern "C" int FPDiffusionStencil(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes,
                                  void* stream, void* extra) {
  (void)stream;
  (void)extra;
  if (nparam != 4 || ndims[0] != 2 || ndims[1] != 2 || !AllFloat32(nparam, dtypes)) return 1;
  const int64_t L = shapes[0][0], T = shapes[0][1];
  if (shapes[1][0] != L || shapes[1][1] != T) return 2;
  const float* rho = static_cast<const float*>(params[0]);
  const float* nu = static_cast<const float*>(params[1]);
  const float* attrs = static_cast<const float*>(params[2]);
  float* out = static_cast<float*>(params[3]);
  if (T < 3) {
    std::memcpy(out, rho, sizeof(float) * L * T);
    return 0;
  }
  const Tiling tl = MakeTiling(L, T, Threads());
  const float dt = attrs[0];
  const bool cfl = attrs[1] != 0.f;
  ForEachTile(tl, [&](int64_t r0, int64_t r1) { ForwardRows(rho, nu, out, r0, r1, T, dt, cfl); });
  return 0;
}

// params: dout, rho, nu, attrs, -> drho (L,T), dnu (L,T)
extern "C" int FPDiffusionStencilGrad(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes,
                                      void* stream, void* extra) {
  (void)stream;
  (void)extra;
  if (nparam != 6 || ndims[0] != 2 || !AllFloat32(nparam, dtypes)) return 1;
  const int64_t L = shapes[0][0], T = shapes[0][1];
  const float* g = static_cast<const float*>(params[0]);
  const float* rho = static_cast<const float*>(params[1]);
  const float* nu = static_cast<const float*>(params[2]);
  const float* attrs = static_cast<const float*>(params[3]);
  float* drho = static_cast<float*>(params[4]);
  float* dnu = static_cast<float*>(params[5]);
  if (T < 3) {
    std::memcpy(drho, g, sizeof(float) * L * T);
    std::memset(dnu, 0, sizeof(float) * L * T);
    return 0;
  }
  const Tiling tl = MakeTiling(L, T, Threads());
  const float dt = attrs[0];
  const bool cfl = attrs[1] != 0.f;
  ForEachTile(tl, [&](int64_t r0, int64_t r1) {
    BackwardRows(g, rho, nu, drho, dnu, r0, r1, T, dt, cfl);
  });
  return 0;
}
