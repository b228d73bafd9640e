// CPU kernels for the DINOv3 backbone's element-wise and row-wise steps that MindSpore's CPU
// kernels run single-threaded and unvectorised (measured 8-17x slower than torch on the
// ViT-L/16 448^2 shapes, docs/PERFORMANCE.md): exact (erf) GELU, its gradient and LayerNorm.
//
//   GeluErf:      y  = x * Phi(x),             Phi(x) = (1 + erf(x / sqrt 2)) / 2
//   GeluErfGrad:  dx = dy * (Phi(x) + x * phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
//   LayerNorm:    y  = (x - mean) / sqrt(var + eps) * gamma + beta   over the last axis
//
// erfc(u), u >= 0, is the Chebyshev fit of Numerical Recipes (erfcc, fractional error < 1.2e-7):
//   t = 1 / (1 + u/2),  erfc(u) = t * exp(-u^2 + P(t));  erf(u) = 1 - erfc(u), erf(-u) = -erf(u).
// Phi is formed from erf rounded to float32, as the native op and torch do: for x < 0 it moves in
// steps of 2^-25 and is exactly 0 below x ~ -5.4. (Phi = erfc(-x / sqrt 2) / 2 is more accurate
// there, but it is not what the released network computes: on a video clip those tail values
// moved the training gradients of the head by up to 5e-3 relative.)
// exp is Cephes' expf (range reduction by ln 2, degree-6 polynomial; relative error ~1e-7),
// written as plain arithmetic so the compiler vectorises the loops (an AVX2 clone is selected at
// load time where the CPU has it). Rows / element blocks are split over OpenMP threads
// (AAM_KERNEL_THREADS, default 2). MindSpore aot CPU signature, fp32 only.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

// Comparisons in the selects below may not trap, so the loops can be if-converted and vectorised.
#pragma GCC optimize("no-trapping-math")

namespace {

constexpr int64_t VIT_BLOCK = 16384;              // elements per parallel chunk (element-wise)
constexpr int64_t VIT_PARALLEL_MIN = 1 << 15;     // below this many elements: one thread

int Threads() {
  const char* s = std::getenv("AAM_KERNEL_THREADS");
  int t = s ? std::atoi(s) : 2;
  return t > 0 ? t : 1;
}

bool AllFloat32(int n, const char** dtypes) {
  for (int i = 0; i < n; ++i)
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  return true;
}

int64_t Numel(int nd, const int64_t* shape) {
  int64_t n = 1;
  for (int i = 0; i < nd; ++i) n *= shape[i];
  return n;
}

inline float ExpF(float a) {
  a = a < -87.33654f ? -87.33654f : (a > 88.72283f ? 88.72283f : a);
  const float z = a * 1.44269504088896341f;
  const int32_t ni = static_cast<int32_t>(z + (z >= 0.0f ? 0.5f : -0.5f));  // round(z)
  const float n = static_cast<float>(ni);
  const float r = (a - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// erfc(u) for u >= 0.
inline float ErfcPos(float u) {
  const float t = 1.0f / (1.0f + 0.5f * u);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * ExpF(p - u * u);
}

// Phi(x) = (1 + erf(x / sqrt 2)) / 2, erf(|u|) = 1 - erfc(|u|) rounded to float32 first.
inline float Phi(float x) {
  const float u = x * 0.70710678118654752f;
  const float erfAbs = 1.0f - ErfcPos(u < 0.0f ? -u : u);
  return 0.5f * (1.0f + (x >= 0.0f ? erfAbs : -erfAbs));
}

__attribute__((target_clones("avx2", "default")))
void GeluRange(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * Phi(x[i]);
}

__attribute__((target_clones("avx2", "default")))
void GeluGradRange(const float* x, const float* dy, float* dx, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float pdf = 0.39894228040143268f * ExpF(-0.5f * v * v);
    dx[i] = dy[i] * (Phi(v) + v * pdf);
  }
}

__attribute__((target_clones("avx2", "default")))
void LayerNormRow(const float* x, const float* g, const float* b, float* y, int64_t c, float eps) {
  float s[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t k = 0;
  for (; k + 8 <= c; k += 8)
    for (int l = 0; l < 8; ++l) s[l] += x[k + l];
  float sum = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; k < c; ++k) sum += x[k];
  const float mean = sum / static_cast<float>(c);
  float q[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  k = 0;
  for (; k + 8 <= c; k += 8)
    for (int l = 0; l < 8; ++l) {
      const float d = x[k + l] - mean;
      q[l] += d * d;
    }
  float sq = ((q[0] + q[4]) + (q[1] + q[5])) + ((q[2] + q[6]) + (q[3] + q[7]));
  for (; k < c; ++k) sq += (x[k] - mean) * (x[k] - mean);
  const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(c) + eps);
  for (k = 0; k < c; ++k) y[k] = (x[k] - mean) * rstd * g[k] + b[k];
}

template <typename F>
void ForBlocks(int64_t n, F body) {
  const int64_t blocks = (n + VIT_BLOCK - 1) / VIT_BLOCK;
#pragma omp parallel for num_threads(Threads()) schedule(static) if (n >= VIT_PARALLEL_MIN)
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t s = i * VIT_BLOCK;
    body(s, (s + VIT_BLOCK < n ? s + VIT_BLOCK : n) - s);
  }
}

}  // namespace

// params: x, -> y (same shape)
extern "C" int GeluErf(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes,
                       void* stream, void* extra) {
  (void)stream;
  (void)extra;
  if (nparam != 2 || !AllFloat32(nparam, dtypes)) return 1;
  const float* x = static_cast<const float*>(params[0]);
  float* y = static_cast<float*>(params[1]);
  ForBlocks(Numel(ndims[0], shapes[0]), [&](int64_t s, int64_t m) { GeluRange(x + s, y + s, m); });
  return 0;
}

// params: x, dy, -> dx (same shape)
extern "C" int GeluErfGrad(int nparam, void** params, int* ndims, int64_t** shapes,
                           const char** dtypes, void* stream, void* extra) {
  (void)stream;
  (void)extra;
  if (nparam != 3 || !AllFloat32(nparam, dtypes)) return 1;
  const int64_t n = Numel(ndims[0], shapes[0]);
  if (Numel(ndims[1], shapes[1]) != n) return 2;
  const float* x = static_cast<const float*>(params[0]);
  const float* dy = static_cast<const float*>(params[1]);
  float* dx = static_cast<float*>(params[2]);
  ForBlocks(n, [&](int64_t s, int64_t m) { GeluGradRange(x + s, dy + s, dx + s, m); });
  return 0;
}

// params: x (..., C), gamma (C), beta (C), attrs [eps], -> y (..., C)
extern "C" int LayerNorm(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes,
                         void* stream, void* extra) {
  (void)stream;
  (void)extra;
  if (nparam != 5 || ndims[0] < 1 || !AllFloat32(nparam, dtypes)) return 1;
  const int64_t c = shapes[0][ndims[0] - 1];
  if (Numel(ndims[1], shapes[1]) != c || Numel(ndims[2], shapes[2]) != c) return 2;
  const int64_t rows = c ? Numel(ndims[0], shapes[0]) / c : 0;
  const float* x = static_cast<const float*>(params[0]);
  const float* g = static_cast<const float*>(params[1]);
  const float* b = static_cast<const float*>(params[2]);
  const float eps = static_cast<const float*>(params[3])[0];
  float* y = static_cast<float*>(params[4]);
#pragma omp parallel for num_threads(Threads()) schedule(static) if (rows * c >= VIT_PARALLEL_MIN)
  for (int64_t r = 0; r < rows; ++r) LayerNormRow(x + r * c, g, b, y + r * c, c, eps);
  return 0;
}
