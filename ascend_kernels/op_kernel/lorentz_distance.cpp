// LorentzDistance AscendC kernel: pairwise (N,M), paired (N,) and to-origin (N,) distances in one pass
// per x row: squared norms, inner products, time components, clamp, acosh and 1/sqrt(c) scale.
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
    mode_ = td.mode;
    eps_ = td.eps;
    rowBegin_ = AscendC::GetBlockIdx() * td.rowsPerBlock;
    rowEnd_ = rowBegin_ + td.rowsPerBlock < n_ ? rowBegin_ + td.rowsPerBlock : n_;
    xGm_.SetGlobalBuffer((__gm__ T*)x, n_ * d_);
    yGm_.SetGlobalBuffer((__gm__ T*)y, m_ * d_);
    cGm_.SetGlobalBuffer((__gm__ T*)curv, 1);
    zGm_.SetGlobalBuffer((__gm__ T*)z, mode_ == 0 ? n_ * m_ : n_);
    pipe_.InitBuffer(inX_, BUFFER_NUM, d_ * sizeof(T) + 32);
    pipe_.InitBuffer(inY_, BUFFER_NUM, tileM_ * d_ * sizeof(T) + 32);
    pipe_.InitBuffer(outZ_, BUFFER_NUM, LD_TILE_M * sizeof(T) + 32);
    pipe_.InitBuffer(rowBuf_, 2 * LD_TILE_ELEMS * sizeof(float));
    pipe_.InitBuffer(vecBuf_, 8 * LD_TILE_M * sizeof(float));
    c_ = static_cast<float>(cGm_.GetValue(0));
  }

  __aicore__ inline void Process() {
    AscendC::LocalTensor<float> vec = vecBuf_.Get<float>();
    sqrtC_ = vec[7 * LD_TILE_M];
    AscendC::Duplicate(sqrtC_, c_, LD_TILE_M);
    AscendC::Sqrt(sqrtC_, sqrtC_, LD_TILE_M);
    for (uint32_t i = rowBegin_; i < rowEnd_; ++i) {
      CopyInX(i);
      if (mode_ == 0) {
        for (uint32_t j0 = 0; j0 < m_; j0 += tileM_) {
          const uint32_t len = j0 + tileM_ <= m_ ? tileM_ : m_ - j0;
          CopyInY(j0, len);
          Compute(len);
          CopyOut(i * m_ + j0, len);
        }
      } else {
        if (mode_ == 1) {
          CopyInY(i, 1);
        }
        Compute(1);
        CopyOut(i, 1);
      }
      inX_.FreeTensor(xT_);
    }
  }

 private:
  __aicore__ inline void CopyInX(uint32_t i) {
    AscendC::LocalTensor<T> local = inX_.AllocTensor<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(d_ * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPadExtParams<T> pad{false, 0, 0, 0};
    AscendC::DataCopyPad(local, xGm_[i * d_], params, pad);
    inX_.EnQue(local);
    xT_ = inX_.DeQue<T>();
  }

  __aicore__ inline void CopyInY(uint32_t j0, uint32_t len) {
    AscendC::LocalTensor<T> local = inY_.AllocTensor<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(len * d_ * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPadExtParams<T> pad{false, 0, 0, 0};
    AscendC::DataCopyPad(local, yGm_[j0 * d_], params, pad);
    inY_.EnQue(local);
  }

  __aicore__ inline void Compute(uint32_t len) {
    AscendC::LocalTensor<float> row = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> xf = row;
    AscendC::LocalTensor<float> tmp = row[LD_TILE_ELEMS];
    AscendC::LocalTensor<float> vec = vecBuf_.Get<float>();
    AscendC::LocalTensor<float> dot = vec;
    AscendC::LocalTensor<float> y0 = vec[LD_TILE_M];
    AscendC::LocalTensor<float> dist = vec[2 * LD_TILE_M];
    AscendC::LocalTensor<float> z = vec[3 * LD_TILE_M];
    AscendC::LocalTensor<float> zc = vec[4 * LD_TILE_M];
    AscendC::LocalTensor<float> w = vec[5 * LD_TILE_M];
    AscendC::LocalTensor<float> work = vec[6 * LD_TILE_M];
    LdToFloat(xf, xT_, d_);
    const float xx = LdDot(xf, xf, tmp, work, d_);
    const float sqrtC = sqrtC_.GetValue(0);
    if (mode_ == 2) {  // asinh(sqrt(c) n) / sqrt(c), asinh(u) = log1p(u + u^2 / (1 + sqrt(1 + u^2)))
      AscendC::Duplicate(z, xx > LD_NORM_SQ_FLOOR ? xx : LD_NORM_SQ_FLOOR, 1);
      AscendC::Sqrt(z, z, 1);
      AscendC::Muls(z, z, sqrtC, 1);               // u
      AscendC::Mul(w, z, z, 1);
      AscendC::Adds(zc, w, 1.0f, 1);
      AscendC::Sqrt(zc, zc, 1);
      AscendC::Adds(zc, zc, 1.0f, 1);
      AscendC::Div(w, w, zc, 1);
      AscendC::Add(w, z, w, 1);                    // w
      AscendC::Adds(zc, w, 1.0f, 1);               // 1 + w
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
      AscendC::LocalTensor<T> yT = inY_.DeQue<T>();
      const float invC = 1.0f / c_;
      const float x0 = AscendC::Sqrt(invC + xx);
      for (uint32_t j = 0; j < len; ++j) {
        AscendC::LocalTensor<float> yf = row[LD_TILE_ELEMS + d_];
        LdToFloat(yf, yT[j * d_], d_);
        dot.SetValue(j, LdDot(xf, yf, tmp, work, d_));
        y0.SetValue(j, LdDot(yf, yf, tmp, work, d_));
      }
      AscendC::Adds(y0, y0, invC, len);
      AscendC::Sqrt(y0, y0, len);
      LdPairEpilogue(dist, z, zc, dot, y0, w, sqrtC_, x0, c_, eps_, len);
      inY_.FreeTensor(yT);
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
  AscendC::TBuf<AscendC::TPosition::VECCALC> rowBuf_, vecBuf_;
  AscendC::GlobalTensor<T> xGm_, yGm_, cGm_, zGm_;
  AscendC::LocalTensor<T> xT_;
  AscendC::LocalTensor<float> sqrtC_;
  uint32_t n_ = 0, m_ = 0, d_ = 0, tileM_ = 0, mode_ = 0, rowBegin_ = 0, rowEnd_ = 0;
  float eps_ = 0.0f, c_ = 1.0f;
};

extern "C" __global__ __aicore__ void lorentz_distance(GM_ADDR x, GM_ADDR y, GM_ADDR curv, GM_ADDR z,
                                                       GM_ADDR workspace, GM_ADDR tiling) {
  GET_TILING_DATA(td, tiling);
  KernelLorentzDistance<DTYPE_X> op;
  op.Init(x, y, curv, z, td);
  op.Process();
}
