// LorentzDistanceGrad AscendC kernel (fp32 compute). With gz = g [z > 1+eps] / (sqrt(c) sqrt((zc-1)(zc+1))):
//   dx_i = (-c) sum_j gz_ij y_j + (c sum_j gz_ij y0_j / x0_i) x_i     (phase A, cores split over x rows)
//   dy_j = (-c) sum_i gz_ij x_i + (c sum_i gz_ij x0_i / y0_j) y_j     (phase B, cores split over y rows)
//   dcurv_rows_i = sum_j gz_ij (z_ij - (y0/x0 + x0/y0)/2) / c - g_ij d_ij / (2c)
// to-origin: dx = [|x|^2 > floor] g x / (n sqrt(1 + c n^2)), dcurv_rows = g (n / sqrt(1 + c n^2) - d) / (2c).
#include "lorentz_common.h"

template <typename T>
class KernelLorentzDistanceGrad {
 public:
  __aicore__ inline KernelLorentzDistanceGrad() {}
  __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR curv, GM_ADDR dout, GM_ADDR dx, GM_ADDR dy, GM_ADDR dc,
                              const LorentzDistanceTilingData& td) {
    n_ = td.n;
    m_ = td.m;
    d_ = td.d;
    mode_ = td.mode;
    eps_ = td.eps;
    rowsPerBlock_ = td.rowsPerBlock;
    xGm_.SetGlobalBuffer((__gm__ T*)x, n_ * d_);
    yGm_.SetGlobalBuffer((__gm__ T*)y, m_ * d_);
    gGm_.SetGlobalBuffer((__gm__ T*)dout, mode_ == 0 ? n_ * m_ : n_);
    dxGm_.SetGlobalBuffer((__gm__ T*)dx, n_ * d_);
    dyGm_.SetGlobalBuffer((__gm__ T*)dy, m_ * d_);
    dcGm_.SetGlobalBuffer((__gm__ T*)dc, n_);
    AscendC::GlobalTensor<T> cGm;
    cGm.SetGlobalBuffer((__gm__ T*)curv, 1);
    c_ = static_cast<float>(cGm.GetValue(0));
    pipe_.InitBuffer(inA_, BUFFER_NUM, d_ * sizeof(T) + 32);
    pipe_.InitBuffer(inB_, BUFFER_NUM, d_ * sizeof(T) + 32);
    pipe_.InitBuffer(outQ_, BUFFER_NUM, d_ * sizeof(T) + 32);
    pipe_.InitBuffer(rowBuf_, 5 * LD_TILE_ELEMS * sizeof(float));
    pipe_.InitBuffer(vecBuf_, 8 * LD_TILE_M * sizeof(float));
  }

  __aicore__ inline void Process() {
    const float sqrtC = AscendC::Sqrt(c_);
    const uint32_t iBegin = AscendC::GetBlockIdx() * rowsPerBlock_;
    const uint32_t iEnd = iBegin + rowsPerBlock_ < n_ ? iBegin + rowsPerBlock_ : n_;
    for (uint32_t i = iBegin; i < iEnd; ++i) {
      if (mode_ == 2) {
        OriginRow(i, sqrtC);
      } else {
        RowAgainst(i, sqrtC, true);
      }
    }
    // phase B: rows of y; in paired mode row j pairs with x row j only, to-origin has no y.
    const uint32_t yPerBlock = (m_ + AscendC::GetBlockNum() - 1) / AscendC::GetBlockNum();
    const uint32_t jBegin = AscendC::GetBlockIdx() * yPerBlock;
    const uint32_t jEnd = jBegin + yPerBlock < m_ ? jBegin + yPerBlock : m_;
    for (uint32_t j = jBegin; j < jEnd; ++j) {
      if (mode_ == 2) {
        AscendC::LocalTensor<float> zero = rowBuf_.Get<float>();
        AscendC::Duplicate(zero, 0.0f, d_);
        StoreRow(dyGm_, j, zero);
      } else {
        RowAgainst(j, sqrtC, false);
      }
    }
  }

 private:
  __aicore__ inline void LoadRow(AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM>& que,
                                 AscendC::GlobalTensor<T>& gm, uint32_t row, const AscendC::LocalTensor<float>& dst) {
    AscendC::LocalTensor<T> local = que.template AllocTensor<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(d_ * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPadExtParams<T> pad{false, 0, 0, 0};
    AscendC::DataCopyPad(local, gm[row * d_], params, pad);
    que.EnQue(local);
    AscendC::LocalTensor<T> ready = que.template DeQue<T>();
    LdToFloat(dst, ready, d_);
    que.FreeTensor(ready);
  }

  __aicore__ inline void StoreRow(AscendC::GlobalTensor<T>& gm, uint32_t row, const AscendC::LocalTensor<float>& src) {
    AscendC::LocalTensor<T> out = outQ_.AllocTensor<T>();
    LdFromFloat(out, src, d_);
    outQ_.EnQue(out);
    AscendC::LocalTensor<T> ready = outQ_.DeQue<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(d_ * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPad(gm[row * d_], ready, params);
    outQ_.FreeTensor(ready);
  }

  // Gradient of one row u (of x when isX, else of y) against every partner row v.
  __aicore__ inline void RowAgainst(uint32_t r, float sqrtC, bool isX) {
    AscendC::LocalTensor<float> row = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> u = row, v = row[LD_TILE_ELEMS], acc = row[2 * LD_TILE_ELEMS];
    AscendC::LocalTensor<float> tmp = row[3 * LD_TILE_ELEMS], work = row[4 * LD_TILE_ELEMS];
    AscendC::LocalTensor<float> vec = vecBuf_.Get<float>();
    AscendC::LocalTensor<float> dot = vec, v0 = vec[LD_TILE_M], dist = vec[2 * LD_TILE_M];
    AscendC::LocalTensor<float> z = vec[3 * LD_TILE_M], zc = vec[4 * LD_TILE_M], w = vec[5 * LD_TILE_M];
    AscendC::LocalTensor<float> sq = vec[6 * LD_TILE_M];
    AscendC::Duplicate(sq, sqrtC, 1);
    const float invC = 1.0f / c_, lo = 1.0f + eps_;
    LoadRow(inA_, isX ? xGm_ : yGm_, r, u);
    const float u0 = AscendC::Sqrt(invC + LdDot(u, u, tmp, work, d_));
    AscendC::Duplicate(acc, 0.0f, d_);
    float acc0 = 0.0f, dc = 0.0f;
    const uint32_t pBegin = mode_ == 1 ? r : 0;
    const uint32_t pEnd = mode_ == 1 ? r + 1 : (isX ? m_ : n_);
    for (uint32_t p = pBegin; p < pEnd; ++p) {
      LoadRow(inB_, isX ? yGm_ : xGm_, p, v);
      const float vv0 = AscendC::Sqrt(invC + LdDot(v, v, tmp, work, d_));
      dot.SetValue(0, LdDot(u, v, tmp, work, d_));
      v0.SetValue(0, vv0);
      LdPairEpilogue(dist, z, zc, dot, v0, w, sq, u0, c_, eps_, 1);
      const uint32_t gi = mode_ == 0 ? (isX ? r * m_ + p : p * m_ + r) : r;
      const float g = static_cast<float>(gGm_.GetValue(gi));
      const float zv = z.GetValue(0), zcv = zc.GetValue(0);
      const float gz = zv > lo ? g / (sqrtC * AscendC::Sqrt((zcv - 1.0f) * (zcv + 1.0f))) : 0.0f;
      AscendC::Axpy(acc, v, gz, d_);
      acc0 += gz * vv0;
      if (isX) {
        dc += gz * (zv - 0.5f * (vv0 / u0 + u0 / vv0)) / c_ - g * dist.GetValue(0) / (2.0f * c_);
      }
    }
    AscendC::Muls(acc, acc, -c_, d_);
    AscendC::Axpy(acc, u, c_ * acc0 / u0, d_);
    StoreRow(isX ? dxGm_ : dyGm_, r, acc);
    if (isX) {
      dcGm_.SetValue(r, static_cast<T>(dc));
    }
  }

  __aicore__ inline void OriginRow(uint32_t i, float sqrtC) {
    AscendC::LocalTensor<float> row = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> u = row, tmp = row[3 * LD_TILE_ELEMS], work = row[4 * LD_TILE_ELEMS];
    LoadRow(inA_, xGm_, i, u);
    const float xx = LdDot(u, u, tmp, work, d_);
    const float nrm = AscendC::Sqrt(xx > LD_NORM_SQ_FLOOR ? xx : LD_NORM_SQ_FLOOR);
    const float uu = sqrtC * nrm, s = AscendC::Sqrt(1.0f + uu * uu);
    const float wv = uu + uu * uu / (1.0f + s), r1 = 1.0f + wv;
    const float asinh = r1 == 1.0f ? wv : AscendC::Log(r1) * wv / (r1 - 1.0f);
    const float g = static_cast<float>(gGm_.GetValue(i));
    AscendC::Muls(u, u, xx > LD_NORM_SQ_FLOOR ? g / s / nrm : 0.0f, d_);
    StoreRow(dxGm_, i, u);
    dcGm_.SetValue(i, static_cast<T>(g * (nrm / s - asinh / sqrtC) / (2.0f * c_)));
  }

  AscendC::TPipe pipe_;
  AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM> inA_, inB_;
  AscendC::TQue<AscendC::TPosition::VECOUT, BUFFER_NUM> outQ_;
  AscendC::TBuf<AscendC::TPosition::VECCALC> rowBuf_, vecBuf_;
  AscendC::GlobalTensor<T> xGm_, yGm_, gGm_, dxGm_, dyGm_, dcGm_;
  uint32_t n_ = 0, m_ = 0, d_ = 0, mode_ = 0, rowsPerBlock_ = 0;
  float eps_ = 0.0f, c_ = 1.0f;
};

extern "C" __global__ __aicore__ void lorentz_distance_grad(GM_ADDR x, GM_ADDR y, GM_ADDR curv, GM_ADDR dout,
                                                            GM_ADDR dx, GM_ADDR dy, GM_ADDR dcurv_rows,
                                                            GM_ADDR workspace, GM_ADDR tiling) {
  GET_TILING_DATA(td, tiling);
  KernelLorentzDistanceGrad<DTYPE_X> op;
  op.Init(x, y, curv, dout, dx, dy, dcurv_rows, td);
  op.Process();
}
