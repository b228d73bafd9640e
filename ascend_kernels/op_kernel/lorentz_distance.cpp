// LorentzDistance AscendC kernel: pairwise (N,M), paired (N,) and to-origin (N,) distances in one pass
// per x row: squared norms, inner products, time components, clamp, acosh and 1/sqrt(c) scale.
// The x row stays in UB in fp32; y rows stream through UB in d-chunks of td.chunk elements, so any d
// whose fp32 row fits the UB budget of op_host works.
#include "lorentz_common.h"

template <typename T>
class KernelLorentzDistance {
 public:
  __aicore__ inline KernelLorentzDistance() {}
  __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR curv, GM_ADDR z, const LorentzDistanceTilingData& td) {
    n_ = td.n;
    m_ = td.m;
    d_ = td.d;
    tileM_ = td.tileM;
    chunk_ = td.chunk;
    mode_ = td.mode;
    eps_ = td.eps;
    rowBegin_ = AscendC::GetBlockIdx() * td.rowsPerBlock;
    rowEnd_ = rowBegin_ + td.rowsPerBlock < n_ ? rowBegin_ + td.rowsPerBlock : n_;
    xGm_.SetGlobalBuffer((__gm__ T*)x, n_ * d_);
    yGm_.SetGlobalBuffer((__gm__ T*)y, m_ * d_);
    cGm_.SetGlobalBuffer((__gm__ T*)curv, 1);
    zGm_.SetGlobalBuffer((__gm__ T*)z, mode_ == 0 ? n_ * m_ : n_);
    const uint32_t stageBytes = LdAlignUp(chunk_ * sizeof(T), 32);
    pipe_.InitBuffer(inX_, BUFFER_NUM, stageBytes);
    pipe_.InitBuffer(inY_, BUFFER_NUM, stageBytes);
    pipe_.InitBuffer(outZ_, BUFFER_NUM, LdAlignUp(tileM_ * sizeof(T), 32));
    pipe_.InitBuffer(xBuf_, LdAlignUp(d_, LD_ALIGN) * sizeof(float));
    pipe_.InitBuffer(rowBuf_, 3 * chunk_ * sizeof(float));
    pipe_.InitBuffer(vecBuf_, 9 * tileM_ * sizeof(float));
    c_ = static_cast<float>(cGm_.GetValue(0));
  }

  __aicore__ inline void Process() {
    AscendC::LocalTensor<float> vec = vecBuf_.Get<float>();
    sqrtC_ = vec[7 * tileM_];
    AscendC::Duplicate(sqrtC_, c_, tileM_);
    AscendC::Sqrt(sqrtC_, sqrtC_, tileM_);
    LdSync<AscendC::HardEvent::V_S>();
    for (uint32_t i = rowBegin_; i < rowEnd_; ++i) {
      if (mode_ == 0) {
        for (uint32_t j0 = 0; j0 < m_; j0 += tileM_) {
          const uint32_t len = j0 + tileM_ <= m_ ? tileM_ : m_ - j0;
          Compute(i, j0, len, j0 == 0);
          CopyOut(i * m_ + j0, len);
        }
      } else {
        Compute(i, i, 1, true);
        CopyOut(i, 1);
      }
    }
  }

 private:
  // Loads x row i into xBuf_ (fp32), chunk by chunk, and returns |x_i|^2.
  __aicore__ inline float LoadX(uint32_t i) {
    AscendC::LocalTensor<float> xf = xBuf_.Get<float>();
    AscendC::LocalTensor<float> row = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> tmp = row[chunk_], work = row[2 * chunk_];
    float xx = 0.0f;
    for (uint32_t q = 0; q * chunk_ < d_; ++q) {
      const uint32_t len = LdChunkLen(d_, chunk_, q);
      LdLoadChunk(inX_, xGm_, i, d_, q * chunk_, len, xf[q * chunk_]);
      xx += LdDot(xf[q * chunk_], xf[q * chunk_], tmp, work, len);
    }
    return xx;
  }

  // Distances of x row i to y rows j0 .. j0 + len - 1 (mode 0, 1) or to the origin (mode 2), into dist.
  __aicore__ inline void Compute(uint32_t i, uint32_t j0, uint32_t len, bool loadX) {
    AscendC::LocalTensor<float> row = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> yf = row, tmp = row[chunk_], work = row[2 * chunk_];
    AscendC::LocalTensor<float> xf = xBuf_.Get<float>();
    AscendC::LocalTensor<float> vec = vecBuf_.Get<float>();
    AscendC::LocalTensor<float> dot = vec;
    AscendC::LocalTensor<float> y0 = vec[tileM_];
    AscendC::LocalTensor<float> dist = vec[2 * tileM_];
    AscendC::LocalTensor<float> z = vec[3 * tileM_];
    AscendC::LocalTensor<float> zc = vec[4 * tileM_];
    AscendC::LocalTensor<float> w = vec[5 * tileM_];
    AscendC::LocalTensor<float> scalar = vec[8 * tileM_];
    if (loadX) {
      xx_ = LoadX(i);
    }
    const float sqrtC = sqrtC_.GetValue(0);
    if (mode_ == 2) {  // asinh(sqrt(c) n) / sqrt(c), asinh(u) = log1p(u + u^2 / (1 + sqrt(1 + u^2)))
      AscendC::Duplicate(z, xx_ > LD_NORM_SQ_FLOOR ? xx_ : LD_NORM_SQ_FLOOR, 1);
      AscendC::Sqrt(z, z, 1);
      AscendC::Muls(z, z, sqrtC, 1);               // u
      AscendC::Mul(w, z, z, 1);
      AscendC::Adds(zc, w, 1.0f, 1);
      AscendC::Sqrt(zc, zc, 1);
      AscendC::Adds(zc, zc, 1.0f, 1);
      AscendC::Div(w, w, zc, 1);
      AscendC::Add(w, z, w, 1);                    // w
      AscendC::Adds(zc, w, 1.0f, 1);               // 1 + w
      LdSync<AscendC::HardEvent::V_S>();
      const bool tiny = zc.GetValue(0) == 1.0f;
      AscendC::Ln(dist, zc, 1);
      AscendC::Mul(dist, dist, w, 1);
      AscendC::Adds(zc, zc, -1.0f, 1);
      AscendC::Div(dist, dist, zc, 1);
      if (tiny) {
        AscendC::Adds(dist, w, 0.0f, 1);
      }
      AscendC::Div(dist, dist, sqrtC_, 1);
    } else {
      const float invC = 1.0f / c_;
      const float x0 = LdSqrt(scalar, invC + xx_);
      for (uint32_t j = 0; j < len; ++j) {
        float xy = 0.0f, yy = 0.0f;
        for (uint32_t q = 0; q * chunk_ < d_; ++q) {
          const uint32_t cl = LdChunkLen(d_, chunk_, q);
          LdLoadChunk(inY_, yGm_, j0 + j, d_, q * chunk_, cl, yf);
          xy += LdDot(xf[q * chunk_], yf, tmp, work, cl);
          yy += LdDot(yf, yf, tmp, work, cl);
        }
        dot.SetValue(j, xy);
        y0.SetValue(j, yy);
      }
      LdSync<AscendC::HardEvent::S_V>();
      AscendC::Adds(y0, y0, invC, len);
      AscendC::Sqrt(y0, y0, len);
      LdPairEpilogue(dist, z, zc, dot, y0, w, sqrtC_, x0, c_, eps_, len);
    }
    AscendC::LocalTensor<T> out = outZ_.AllocTensor<T>();
    LdFromFloat(out, dist, len);
    outZ_.EnQue(out);
  }

  __aicore__ inline void CopyOut(uint32_t offset, uint32_t len) {
    AscendC::LocalTensor<T> out = outZ_.DeQue<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(len * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPad(zGm_[offset], out, params);
    outZ_.FreeTensor(out);
  }

  AscendC::TPipe pipe_;
  AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM> inX_, inY_;
  AscendC::TQue<AscendC::TPosition::VECOUT, BUFFER_NUM> outZ_;
  AscendC::TBuf<AscendC::TPosition::VECCALC> xBuf_, rowBuf_, vecBuf_;
  AscendC::GlobalTensor<T> xGm_, yGm_, cGm_, zGm_;
  AscendC::LocalTensor<float> sqrtC_;
  uint32_t n_ = 0, m_ = 0, d_ = 0, tileM_ = 0, chunk_ = 0, mode_ = 0, rowBegin_ = 0, rowEnd_ = 0;
  float eps_ = 0.0f, c_ = 1.0f, xx_ = 0.0f;
};

extern "C" __global__ __aicore__ void lorentz_distance(GM_ADDR x, GM_ADDR y, GM_ADDR curv, GM_ADDR z,
                                                       GM_ADDR workspace, GM_ADDR tiling) {
  GET_TILING_DATA(td, tiling);
  KernelLorentzDistance<DTYPE_X> op;
  op.Init(x, y, curv, z, td);
  op.Process();
}
