// LorentzDistanceGrad AscendC kernel (fp32 compute). With gz = g [z > 1+eps] / (sqrt(c) sqrt((zc-1)(zc+1))):
//   dx_i = (-c) sum_j gz_ij y_j + (c sum_j gz_ij y0_j / x0_i) x_i     (phase A, cores split over x rows)
//   dy_j = (-c) sum_i gz_ij x_i + (c sum_i gz_ij x0_i / y0_j) y_j     (phase B, cores split over y rows)
//   dcurv_rows_i = sum_j gz_ij (z_ij - (y0/x0 + x0/y0)/2) / c - g_ij d_ij / (2c)
// Rows u and their gradient accumulators stay in UB in fp32; partner rows stream through UB in
// d-chunks of td.chunk elements (read twice when a row spans several chunks).
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
    tileM_ = td.tileM;
    chunk_ = td.chunk;
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
    const uint32_t stageBytes = LdAlignUp(chunk_ * sizeof(T), 32);
    const uint32_t rowBytes = LdAlignUp(d_, LD_ALIGN) * sizeof(float);
    pipe_.InitBuffer(inA_, BUFFER_NUM, stageBytes);
    pipe_.InitBuffer(inB_, BUFFER_NUM, stageBytes);
    pipe_.InitBuffer(outQ_, BUFFER_NUM, stageBytes);
    pipe_.InitBuffer(uBuf_, rowBytes);
    pipe_.InitBuffer(accBuf_, rowBytes);
    pipe_.InitBuffer(rowBuf_, 3 * chunk_ * sizeof(float));
    pipe_.InitBuffer(vecBuf_, 9 * tileM_ * sizeof(float));
  }

  __aicore__ inline void Process() {
    const float sqrtC = LdSqrt(Scalar(), c_);
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
        AscendC::LocalTensor<float> zero = accBuf_.Get<float>();
        AscendC::Duplicate(zero, 0.0f, d_);
        StoreRow(dyGm_, j, zero);
      } else {
        RowAgainst(j, sqrtC, false);
      }
    }
  }

 private:
  __aicore__ inline AscendC::LocalTensor<float> Scalar() { return vecBuf_.Get<float>()[8 * tileM_]; }

  // Loads GM row `row` into dst (fp32, d elements) chunk by chunk and returns its squared norm.
  __aicore__ inline float LoadRow(AscendC::GlobalTensor<T>& gm, uint32_t row, const AscendC::LocalTensor<float>& dst) {
    AscendC::LocalTensor<float> scratch = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> tmp = scratch[chunk_], work = scratch[2 * chunk_];
    float sq = 0.0f;
    for (uint32_t q = 0; q * chunk_ < d_; ++q) {
      const uint32_t len = LdChunkLen(d_, chunk_, q);
      LdLoadChunk(inA_, gm, row, d_, q * chunk_, len, dst[q * chunk_]);
      sq += LdDot(dst[q * chunk_], dst[q * chunk_], tmp, work, len);
    }
    return sq;
  }

  __aicore__ inline void StoreRow(AscendC::GlobalTensor<T>& gm, uint32_t row, const AscendC::LocalTensor<float>& src) {
    for (uint32_t q = 0; q * chunk_ < d_; ++q) {
      LdStoreChunk(outQ_, gm, row, d_, q * chunk_, LdChunkLen(d_, chunk_, q), src[q * chunk_]);
    }
  }

  // Gradient of one row u (of x when isX, else of y) against every partner row v.
  __aicore__ inline void RowAgainst(uint32_t r, float sqrtC, bool isX) {
    AscendC::LocalTensor<float> u = uBuf_.Get<float>(), acc = accBuf_.Get<float>();
    AscendC::LocalTensor<float> scratch = rowBuf_.Get<float>();
    AscendC::LocalTensor<float> v = scratch, tmp = scratch[chunk_], work = scratch[2 * chunk_];
    AscendC::LocalTensor<float> vec = vecBuf_.Get<float>();
    AscendC::LocalTensor<float> dot = vec, v0 = vec[tileM_], dist = vec[2 * tileM_];
    AscendC::LocalTensor<float> z = vec[3 * tileM_], zc = vec[4 * tileM_], w = vec[5 * tileM_];
    AscendC::LocalTensor<float> sq = vec[6 * tileM_], scalar = vec[8 * tileM_];
    AscendC::GlobalTensor<T>& partners = isX ? yGm_ : xGm_;
    AscendC::Duplicate(sq, sqrtC, 1);
    const float invC = 1.0f / c_, lo = 1.0f + eps_;
    const bool oneChunk = d_ <= chunk_;
    const float u0 = LdSqrt(scalar, invC + LoadRow(isX ? xGm_ : yGm_, r, u));
    AscendC::Duplicate(acc, 0.0f, d_);
    float acc0 = 0.0f, dc = 0.0f;
    const uint32_t pBegin = mode_ == 1 ? r : 0;
    const uint32_t pEnd = mode_ == 1 ? r + 1 : (isX ? m_ : n_);
    for (uint32_t p = pBegin; p < pEnd; ++p) {
      float uv = 0.0f, vv = 0.0f;
      for (uint32_t q = 0; q * chunk_ < d_; ++q) {  // <u, v> and |v|^2 over the d-chunks of v
        const uint32_t len = LdChunkLen(d_, chunk_, q);
        LdLoadChunk(inB_, partners, p, d_, q * chunk_, len, v);
        uv += LdDot(u[q * chunk_], v, tmp, work, len);
        vv += LdDot(v, v, tmp, work, len);
      }
      const float vv0 = LdSqrt(scalar, invC + vv);
      dot.SetValue(0, uv);
      v0.SetValue(0, vv0);
      LdSync<AscendC::HardEvent::S_V>();
      LdPairEpilogue(dist, z, zc, dot, v0, w, sq, u0, c_, eps_, 1);
      LdSync<AscendC::HardEvent::V_S>();
      const uint32_t gi = mode_ == 0 ? (isX ? r * m_ + p : p * m_ + r) : r;
      const float g = static_cast<float>(gGm_.GetValue(gi));
      const float zv = z.GetValue(0), zcv = zc.GetValue(0);
      const float gz = zv > lo ? g / (sqrtC * LdSqrt(scalar, (zcv - 1.0f) * (zcv + 1.0f))) : 0.0f;
      for (uint32_t q = 0; q * chunk_ < d_; ++q) {  // acc += gz v (v reloaded when it spans several chunks)
        const uint32_t len = LdChunkLen(d_, chunk_, q);
        if (!oneChunk) {
          LdLoadChunk(inB_, partners, p, d_, q * chunk_, len, v);
        }
        AscendC::Axpy(acc[q * chunk_], v, gz, len);
      }
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
    AscendC::LocalTensor<float> u = uBuf_.Get<float>(), scalar = Scalar();
    const float xx = LoadRow(xGm_, i, u);
    const float nrm = LdSqrt(scalar, xx > LD_NORM_SQ_FLOOR ? xx : LD_NORM_SQ_FLOOR);
    const float uu = sqrtC * nrm, s = LdSqrt(scalar, 1.0f + uu * uu);
    const float wv = uu + uu * uu / (1.0f + s), r1 = 1.0f + wv;
    const float asinh = r1 == 1.0f ? wv : LdLn(scalar, r1) * wv / (r1 - 1.0f);
    const float g = static_cast<float>(gGm_.GetValue(i));
    AscendC::Muls(u, u, xx > LD_NORM_SQ_FLOOR ? g / s / nrm : 0.0f, d_);
    StoreRow(dxGm_, i, u);
    dcGm_.SetValue(i, static_cast<T>(g * (nrm / s - asinh / sqrtC) / (2.0f * c_)));
  }

  AscendC::TPipe pipe_;
  AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM> inA_, inB_;
  AscendC::TQue<AscendC::TPosition::VECOUT, BUFFER_NUM> outQ_;
  AscendC::TBuf<AscendC::TPosition::VECCALC> uBuf_, accBuf_, rowBuf_, vecBuf_;
  AscendC::GlobalTensor<T> xGm_, yGm_, gGm_, dxGm_, dyGm_, dcGm_;
  uint32_t n_ = 0, m_ = 0, d_ = 0, tileM_ = 0, chunk_ = 0, mode_ = 0, rowsPerBlock_ = 0;
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
