// Shared pieces of the LorentzDistance kernels: fp32 staging of fp16/fp32/bf16 rows, dot products,
// and the fused vector epilogue  z = (-c)(<x,y> - x0 y0), zc = max(z, 1+eps),
// acosh(zc) = log1p(w), w = (zc-1) + sqrt((zc-1)(zc+1)), log1p(w) = ln(1+w) w / ((1+w)-1).
#ifndef LORENTZ_COMMON_H
#define LORENTZ_COMMON_H
#include "kernel_operator.h"

constexpr int32_t BUFFER_NUM = 2;
constexpr uint32_t LD_TILE_M = 64;        // same as op_host/lorentz_distance_tiling.h
constexpr uint32_t LD_TILE_ELEMS = 8192;
constexpr float LD_NORM_SQ_FLOOR = 1e-30f;

template <typename T>
__aicore__ inline void LdToFloat(const AscendC::LocalTensor<float>& dst, const AscendC::LocalTensor<T>& src,
                                 uint32_t len) {
  if constexpr (std::is_same<T, float>::value) {
    AscendC::Adds(dst, src, 0.0f, len);
  } else {
    AscendC::Cast(dst, src, AscendC::RoundMode::CAST_NONE, len);
  }
}

template <typename T>
__aicore__ inline void LdFromFloat(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<float>& src,
                                   uint32_t len) {
  if constexpr (std::is_same<T, float>::value) {
    AscendC::Adds(dst, src, 0.0f, len);
  } else {
    AscendC::Cast(dst, src, AscendC::RoundMode::CAST_RINT, len);
  }
}

// <a, b> over d elements; tmp/work are scratch of >= d floats.
__aicore__ inline float LdDot(const AscendC::LocalTensor<float>& a, const AscendC::LocalTensor<float>& b,
                              const AscendC::LocalTensor<float>& tmp, const AscendC::LocalTensor<float>& work,
                              uint32_t d) {
  AscendC::Mul(tmp, a, b, d);
  AscendC::ReduceSum(tmp, tmp, work, d);
  return tmp.GetValue(0);
}

// dist[k] = acosh(max((-c)(dot[k] - x0*y0[k]), 1+eps)) / sqrt(c); z (unclamped) and zc kept for backward.
__aicore__ inline void LdPairEpilogue(const AscendC::LocalTensor<float>& dist, const AscendC::LocalTensor<float>& z,
                                      const AscendC::LocalTensor<float>& zc, const AscendC::LocalTensor<float>& dot,
                                      const AscendC::LocalTensor<float>& y0, const AscendC::LocalTensor<float>& w,
                                      const AscendC::LocalTensor<float>& sqrtC, float x0, float c, float eps,
                                      uint32_t len) {
  AscendC::Muls(w, y0, x0, len);
  AscendC::Sub(z, dot, w, len);
  AscendC::Muls(z, z, -c, len);
  AscendC::Maxs(zc, z, 1.0f + eps, len);
  AscendC::Adds(dist, zc, -1.0f, len);       // a = zc - 1
  AscendC::Adds(w, zc, 1.0f, len);
  AscendC::Mul(w, dist, w, len);             // a (zc + 1)
  AscendC::Sqrt(w, w, len);
  AscendC::Add(w, dist, w, len);             // w = a + sqrt(a (zc + 1))
  AscendC::Adds(dist, w, 1.0f, len);         // u = 1 + w
  AscendC::Ln(y0, dist, len);                // y0 is free from here on
  AscendC::Mul(y0, y0, w, len);
  AscendC::Adds(dist, dist, -1.0f, len);     // u - 1
  AscendC::Div(dist, y0, dist, len);         // acosh(zc)
  AscendC::Div(dist, dist, sqrtC, len);
}
#endif  // LORENTZ_COMMON_H
