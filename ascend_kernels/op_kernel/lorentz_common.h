// Shared pieces of the LorentzDistance kernels: fp32 staging of fp16/fp32/bf16 rows in d-chunks,
// dot products, scalar sqrt/ln through one-element vector ops (AscendC 8.1 has no scalar Sqrt/Log),
// and the fused vector epilogue  z = (-c)(<x,y> - x0 y0), zc = max(z, 1+eps),
// acosh(zc) = log1p(w), w = (zc-1) + sqrt((zc-1)(zc+1)), log1p(w) = ln(1+w) w / ((1+w)-1).
#ifndef LORENTZ_COMMON_H
#define LORENTZ_COMMON_H
#include "kernel_operator.h"

constexpr int32_t BUFFER_NUM = 2;
constexpr uint32_t LD_ALIGN = 64;  // same as op_host/lorentz_distance.cpp
constexpr float LD_NORM_SQ_FLOOR = 1e-30f;

__aicore__ inline uint32_t LdAlignUp(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

// Hand-off between the vector and scalar units: V_S before a scalar GetValue of a vector result,
// S_V before a vector op reads values written with SetValue.
template <AscendC::HardEvent E>
__aicore__ inline void LdSync() {
  const int32_t id = GetTPipePtr()->FetchEventID(E);
  AscendC::SetFlag<E>(id);
  AscendC::WaitFlag<E>(id);
}

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

// Elements [q * chunk, q * chunk + len) of the chunk q of a row of d elements.
__aicore__ inline uint32_t LdChunkLen(uint32_t d, uint32_t chunk, uint32_t q) {
  return q * chunk + chunk <= d ? chunk : d - q * chunk;
}

// Loads elements [off, off + len) of GM row `row` (d elements) through `que` and casts them to dst (fp32).
template <typename T>
__aicore__ inline void LdLoadChunk(AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM>& que,
                                   const AscendC::GlobalTensor<T>& gm, uint32_t row, uint32_t d, uint32_t off,
                                   uint32_t len, const AscendC::LocalTensor<float>& dst) {
  AscendC::LocalTensor<T> local = que.template AllocTensor<T>();
  AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(len * sizeof(T)), 0, 0, 0};
  AscendC::DataCopyPadExtParams<T> pad{false, 0, 0, 0};
  AscendC::DataCopyPad(local, gm[row * d + off], params, pad);
  que.EnQue(local);
  AscendC::LocalTensor<T> ready = que.template DeQue<T>();
  LdToFloat(dst, ready, len);
  que.FreeTensor(ready);
}

// Casts src[0, len) (fp32) to T and stores it at elements [off, off + len) of GM row `row`.
template <typename T>
__aicore__ inline void LdStoreChunk(AscendC::TQue<AscendC::TPosition::VECOUT, BUFFER_NUM>& que,
                                    const AscendC::GlobalTensor<T>& gm, uint32_t row, uint32_t d, uint32_t off,
                                    uint32_t len, const AscendC::LocalTensor<float>& src) {
  AscendC::LocalTensor<T> out = que.template AllocTensor<T>();
  LdFromFloat(out, src, len);
  que.EnQue(out);
  AscendC::LocalTensor<T> ready = que.template DeQue<T>();
  AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(len * sizeof(T)), 0, 0, 0};
  AscendC::DataCopyPad(gm[row * d + off], ready, params);
  que.FreeTensor(ready);
}

// <a, b> over len elements; tmp and work are scratch of >= len floats.
__aicore__ inline float LdDot(const AscendC::LocalTensor<float>& a, const AscendC::LocalTensor<float>& b,
                              const AscendC::LocalTensor<float>& tmp, const AscendC::LocalTensor<float>& work,
                              uint32_t len) {
  AscendC::Mul(tmp, a, b, len);
  AscendC::ReduceSum(tmp, tmp, work, len);
  LdSync<AscendC::HardEvent::V_S>();
  return tmp.GetValue(0);
}

// sqrt(v) and ln(v) of a scalar, through element 0 of the scratch vector s.
__aicore__ inline float LdSqrt(const AscendC::LocalTensor<float>& s, float v) {
  AscendC::Duplicate(s, v, 1);
  AscendC::Sqrt(s, s, 1);
  LdSync<AscendC::HardEvent::V_S>();
  return s.GetValue(0);
}
__aicore__ inline float LdLn(const AscendC::LocalTensor<float>& s, float v) {
  AscendC::Duplicate(s, v, 1);
  AscendC::Ln(s, s, 1);
  LdSync<AscendC::HardEvent::V_S>();
  return s.GetValue(0);
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
