// CPU twin of the AscendC LorentzDistance / LorentzDistanceGrad kernels (op_kernel/).
//
// Same grid (rows of x split into blocks, y in tiles of LD_TILE_M rows) and the same arithmetic per
// element as the AscendC kernels (which split dot products into d-chunks; sums differ in order only):
//   x0 = sqrt(1/c + |x|^2),  z = (-c) * (<x,y> - x0*y0),  zc = max(z, 1+eps)
//   acosh(zc) = log1p(w), w = (zc-1) + sqrt((zc-1)*(zc+1)), log1p(w) = ln(1+w) * w / ((1+w)-1)
//   d = acosh(zc) / sqrt(c)
// to-origin: d = asinh(sqrt(c)*n)/sqrt(c), n = sqrt(max(|x|^2, 1e-30)),
//   asinh(u) = log1p(u + u^2 / (1 + sqrt(1 + u^2))).
// MindSpore aot CPU signature; inputs (x, y, curv[1], attrs[2] = {mode, eps}), fp32 only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// Constants: identical to op_host/lorentz_distance_tiling.h and op_kernel/lorentz_common.h.
constexpr int64_t LD_TILE_M = 64;       // y rows per tile
constexpr int64_t LD_REDUCE_LANES = 8;  // partial sums of a dot product (one 32-byte vector)
constexpr float LD_NORM_SQ_FLOOR = 1e-30f;
// Work (N*M*D) below which one thread is faster than waking a team on a shared 2-core host.
constexpr int64_t LD_PARALLEL_MIN = int64_t{1} << 22;

enum Mode { kPairwise = 0, kPaired = 1, kOrigin = 2 };

struct Tiling {
  int64_t n, m, d, tileM, blockDim, rowsPerBlock;
  int mode;
  float eps;
};

int Threads() {
  const char* s = std::getenv("AAM_KERNEL_THREADS");
  int t = s ? std::atoi(s) : 2;
  return t > 0 ? t : 1;
}

Tiling MakeTiling(int64_t n, int64_t m, int64_t d, int mode, float eps, int64_t coreNum) {
  Tiling t{n, m, d, 1, 1, n, mode, eps};
  t.tileM = LD_TILE_M;
  int64_t bd = std::max<int64_t>(1, std::min<int64_t>(coreNum, n));
  t.rowsPerBlock = (n + bd - 1) / bd;
  t.blockDim = t.rowsPerBlock > 0 ? (n + t.rowsPerBlock - 1) / t.rowsPerBlock : 1;
  return t;
}

inline float Dot(const float* a, const float* b, int64_t d) {
  float lane[LD_REDUCE_LANES] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t k = 0;
  for (; k + LD_REDUCE_LANES <= d; k += LD_REDUCE_LANES)
    for (int64_t l = 0; l < LD_REDUCE_LANES; ++l) lane[l] += a[k + l] * b[k + l];
  for (int64_t l = 0; k < d; ++k, ++l) lane[l] += a[k] * b[k];
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

inline float Log1p(float w) {
  float u = 1.0f + w;
  return u == 1.0f ? w : std::log(u) * w / (u - 1.0f);
}

inline float AcoshClamped(float zc) {
  float a = zc - 1.0f;
  return Log1p(a + std::sqrt(a * (zc + 1.0f)));
}

inline float Asinh(float u) { return Log1p(u + u * u / (1.0f + std::sqrt(1.0f + u * u))); }

inline float TimeOf(float sq, float invC) { return std::sqrt(invC + sq); }

// d(x_i, y_j) and the gradient factor of z (0 where the clamp binds).
struct Pair {
  float z, dist, gz;
};

inline Pair PairTerms(float dot, float x0, float y0, float c, float sqrtC, float eps, float g) {
  Pair p;
  p.z = (-c) * (dot - x0 * y0);
  float lo = 1.0f + eps;
  float zc = std::max(p.z, lo);
  p.dist = AcoshClamped(zc) / sqrtC;
  float a = zc - 1.0f;
  p.gz = p.z > lo ? g / (sqrtC * std::sqrt(a * (zc + 1.0f))) : 0.0f;
  return p;
}

inline float CurvTerm(const Pair& p, float x0, float y0, float c, float g) {
  return p.gz * (p.z - 0.5f * (y0 / x0 + x0 / y0)) / c - g * p.dist / (2.0f * c);
}

void SqNorms(const float* v, int64_t rows, int64_t d, float* out) {
  for (int64_t r = 0; r < rows; ++r) out[r] = Dot(v + r * d, v + r * d, d);
}

void Forward(const Tiling& t, const float* x, const float* y, float c, float* out) {
  const float invC = 1.0f / c, sqrtC = std::sqrt(c);
  std::vector<float> yy(t.mode == kPairwise ? t.m : 0);
  if (t.mode == kPairwise) SqNorms(y, t.m, t.d, yy.data());
#pragma omp parallel for num_threads(Threads()) schedule(static) if (t.n * t.m * t.d >= LD_PARALLEL_MIN)
  for (int64_t b = 0; b < t.blockDim; ++b) {
    const int64_t i1 = std::min(t.n, (b + 1) * t.rowsPerBlock);
    for (int64_t i = b * t.rowsPerBlock; i < i1; ++i) {
      const float* xi = x + i * t.d;
      const float xx = Dot(xi, xi, t.d);
      if (t.mode == kOrigin) {
        const float nrm = std::sqrt(std::max(xx, LD_NORM_SQ_FLOOR));
        out[i] = Asinh(sqrtC * nrm) / sqrtC;
        continue;
      }
      const float x0 = TimeOf(xx, invC);
      if (t.mode == kPaired) {
        const float* yi = y + i * t.d;
        out[i] = PairTerms(Dot(xi, yi, t.d), x0, TimeOf(Dot(yi, yi, t.d), invC), c, sqrtC, t.eps, 0.f).dist;
        continue;
      }
      for (int64_t j0 = 0; j0 < t.m; j0 += t.tileM) {
        const int64_t j1 = std::min(t.m, j0 + t.tileM);
        for (int64_t j = j0; j < j1; ++j)
          out[i * t.m + j] =
              PairTerms(Dot(xi, y + j * t.d, t.d), x0, TimeOf(yy[j], invC), c, sqrtC, t.eps, 0.f).dist;
      }
    }
  }
}

// Accumulates acc += sum_j gz_ij * v_j and acc0 += sum_j gz_ij * v0_j for one row u_i against rows v.
void Backward(const Tiling& t, const float* x, const float* y, float c, const float* g, float* dx, float* dy,
              float* dcRows) {
  const float invC = 1.0f / c, sqrtC = std::sqrt(c);
  const int threads = Threads();
  const bool par = t.n * std::max<int64_t>(t.m, 1) * t.d >= LD_PARALLEL_MIN;
  if (t.mode == kOrigin) {
    for (int64_t k = 0; k < t.m * t.d; ++k) dy[k] = 0.f;
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
    for (int64_t b = 0; b < t.blockDim; ++b) {
      const int64_t i1 = std::min(t.n, (b + 1) * t.rowsPerBlock);
      for (int64_t i = b * t.rowsPerBlock; i < i1; ++i) {
        const float* xi = x + i * t.d;
        const float xx = Dot(xi, xi, t.d);
        const float nrm = std::sqrt(std::max(xx, LD_NORM_SQ_FLOOR));
        const float u = sqrtC * nrm, s = std::sqrt(1.0f + u * u);
        const float f = Asinh(u) / sqrtC;
        const float gx = xx > LD_NORM_SQ_FLOOR ? g[i] / s / nrm : 0.0f;
        for (int64_t k = 0; k < t.d; ++k) dx[i * t.d + k] = gx * xi[k];
        dcRows[i] = g[i] * (nrm / s - f) / (2.0f * c);
      }
    }
    return;
  }
  std::vector<float> xx(t.n), yy(t.m);
  SqNorms(x, t.n, t.d, xx.data());
  SqNorms(y, t.m, t.d, yy.data());
  if (t.mode == kPaired) {
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
    for (int64_t b = 0; b < t.blockDim; ++b) {
      const int64_t i1 = std::min(t.n, (b + 1) * t.rowsPerBlock);
      for (int64_t i = b * t.rowsPerBlock; i < i1; ++i) {
        const float *xi = x + i * t.d, *yi = y + i * t.d;
        const float x0 = TimeOf(xx[i], invC), y0 = TimeOf(yy[i], invC);
        const Pair p = PairTerms(Dot(xi, yi, t.d), x0, y0, c, sqrtC, t.eps, g[i]);
        const float ax = c * p.gz * y0 / x0, ay = c * p.gz * x0 / y0, cg = -c * p.gz;
        for (int64_t k = 0; k < t.d; ++k) {
          dx[i * t.d + k] = cg * yi[k] + ax * xi[k];
          dy[i * t.d + k] = cg * xi[k] + ay * yi[k];
        }
        dcRows[i] = CurvTerm(p, x0, y0, c, g[i]);
      }
    }
    return;
  }
  // Pairwise, phase A: rows of x (dx, per-row curvature terms) against y tiles.
#pragma omp parallel num_threads(threads) if (par)
  {
    std::vector<float> acc(t.d);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < t.blockDim; ++b) {
      const int64_t i1 = std::min(t.n, (b + 1) * t.rowsPerBlock);
      for (int64_t i = b * t.rowsPerBlock; i < i1; ++i) {
        const float* xi = x + i * t.d;
        const float x0 = TimeOf(xx[i], invC);
        std::fill(acc.begin(), acc.end(), 0.f);
        float acc0 = 0.f, dc = 0.f;
        for (int64_t j0 = 0; j0 < t.m; j0 += t.tileM) {
          const int64_t j1 = std::min(t.m, j0 + t.tileM);
          for (int64_t j = j0; j < j1; ++j) {
            const float* yj = y + j * t.d;
            const float y0 = TimeOf(yy[j], invC), gij = g[i * t.m + j];
            const Pair p = PairTerms(Dot(xi, yj, t.d), x0, y0, c, sqrtC, t.eps, gij);
            for (int64_t k = 0; k < t.d; ++k) acc[k] += p.gz * yj[k];
            acc0 += p.gz * y0;
            dc += CurvTerm(p, x0, y0, c, gij);
          }
        }
        const float a = c * acc0 / x0;
        for (int64_t k = 0; k < t.d; ++k) dx[i * t.d + k] = (-c) * acc[k] + a * xi[k];
        dcRows[i] = dc;
      }
    }
  }
  // Phase B: rows of y (dy) against x tiles, blocks split over M.
  const Tiling ty = MakeTiling(t.m, t.n, t.d, t.mode, t.eps, t.blockDim);
#pragma omp parallel num_threads(threads) if (par)
  {
    std::vector<float> acc(t.d);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < ty.blockDim; ++b) {
      const int64_t j1 = std::min(t.m, (b + 1) * ty.rowsPerBlock);
      for (int64_t j = b * ty.rowsPerBlock; j < j1; ++j) {
        const float* yj = y + j * t.d;
        const float y0 = TimeOf(yy[j], invC);
        std::fill(acc.begin(), acc.end(), 0.f);
        float acc0 = 0.f;
        for (int64_t i0 = 0; i0 < t.n; i0 += ty.tileM) {
          const int64_t i1 = std::min(t.n, i0 + ty.tileM);
          for (int64_t i = i0; i < i1; ++i) {
            const float* xi = x + i * t.d;
            const float x0 = TimeOf(xx[i], invC);
            const Pair p = PairTerms(Dot(xi, yj, t.d), x0, y0, c, sqrtC, t.eps, g[i * t.m + j]);
            for (int64_t k = 0; k < t.d; ++k) acc[k] += p.gz * xi[k];
            acc0 += p.gz * x0;
          }
        }
        const float a = c * acc0 / y0;
        for (int64_t k = 0; k < t.d; ++k) dy[j * t.d + k] = (-c) * acc[k] + a * yj[k];
      }
    }
  }
}

bool AllFloat32(int nparam, const char** dtypes) {
  for (int i = 0; i < nparam; ++i)
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  return true;
}

int RunForward(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes, int mode) {
  if (nparam != 5 || ndims[0] != 2 || ndims[1] != 2 || !AllFloat32(nparam, dtypes)) return 1;
  const float* attrs = static_cast<const float*>(params[3]);
  const int64_t n = shapes[0][0], d = shapes[0][1], m = shapes[1][0];
  if (static_cast<int>(attrs[0]) != mode || shapes[1][1] != d || (mode != kPairwise && m != n)) return 2;
  const Tiling t = MakeTiling(n, m, d, mode, attrs[1], Threads());
  Forward(t, static_cast<const float*>(params[0]), static_cast<const float*>(params[1]),
          static_cast<const float*>(params[2])[0], static_cast<float*>(params[4]));
  return 0;
}

int RunBackward(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes, int mode) {
  if (nparam != 8 || ndims[0] != 2 || ndims[1] != 2 || !AllFloat32(nparam, dtypes)) return 1;
  const float* attrs = static_cast<const float*>(params[3]);
  const int64_t n = shapes[0][0], d = shapes[0][1], m = shapes[1][0];
  if (static_cast<int>(attrs[0]) != mode || shapes[1][1] != d || (mode != kPairwise && m != n)) return 2;
  const Tiling t = MakeTiling(n, m, d, mode, attrs[1], Threads());
  Backward(t, static_cast<const float*>(params[0]), static_cast<const float*>(params[1]),
           static_cast<const float*>(params[2])[0], static_cast<const float*>(params[4]),
           static_cast<float*>(params[5]), static_cast<float*>(params[6]), static_cast<float*>(params[7]));
  return 0;
}

}  // namespace

// One exported symbol per mode: MindSpore caches an aot op's inferred shapes by its function
// name and input shapes, so the pairwise (N,M) and paired (N,) forms must not share a name.
// Forward params: x (N,D), y (M,D), curv (1,), attrs (2,) = {mode, eps}, out (N,M) | (N,).
// Backward params: x, y, curv, attrs, dout, -> dx (N,D), dy (M,D), dcurv_rows (N,).
#define LD_EXPORT(Name, mode)                                                                              \
  extern "C" int Name(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes,       \
                      void* stream, void* extra) {                                                         \
    (void)stream;                                                                                          \
    (void)extra;                                                                                           \
    return RunForward(nparam, params, ndims, shapes, dtypes, mode);                                        \
  }                                                                                                        \
  extern "C" int Name##Grad(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes, \
                            void* stream, void* extra) {                                                   \
    (void)stream;                                                                                          \
    (void)extra;                                                                                           \
    return RunBackward(nparam, params, ndims, shapes, dtypes, mode);                                       \
  }

LD_EXPORT(LorentzDistancePairwise, kPairwise)
LD_EXPORT(LorentzDistancePaired, kPaired)
LD_EXPORT(LorentzDistanceOrigin, kOrigin)
