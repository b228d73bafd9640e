// FPDiffusionStencil AscendC kernel: out_t = rho_t + k_t * ((rho_{t-1} - 2 rho_t) + rho_{t+1}),
// k = dt * nu * interior (then min(k, 0.5) with cfl), computed in fp32 for fp16/fp32/bf16 I/O.
// A tile is whole rows of the flat (L*T) array; its n-2 inner positions are read as three shifted
// windows (prev/cur/next) straight from GM, the two outer positions are row boundaries and copied.
#include "kernel_operator.h"

constexpr int32_t BUFFER_NUM = 2;
constexpr float FPD_CFL_MAX = 0.5f;

template <typename T>
class KernelFPDiffusionStencil {
 public:
  __aicore__ inline KernelFPDiffusionStencil() {}
  __aicore__ inline void Init(GM_ADDR rho, GM_ADDR nu, GM_ADDR out, const FPDiffusionStencilTilingData& td) {
    frames_ = td.frames;
    rows_ = td.rows;
    rowsPerTile_ = td.rowsPerTile;
    tileLen_ = td.tileLen;
    dt_ = td.dt;
    cfl_ = td.cfl != 0;
    tileBegin_ = AscendC::GetBlockIdx() * td.tilesPerBlock;
    tileEnd_ = tileBegin_ + td.tilesPerBlock < td.tiles ? tileBegin_ + td.tilesPerBlock : td.tiles;
    rhoGm_.SetGlobalBuffer((__gm__ T*)rho, rows_ * frames_);
    nuGm_.SetGlobalBuffer((__gm__ T*)nu, rows_ * frames_);
    outGm_.SetGlobalBuffer((__gm__ T*)out, rows_ * frames_);
    const uint32_t bytesT = tileLen_ * sizeof(T);
    const uint32_t bytesF = tileLen_ * sizeof(float);
    pipe_.InitBuffer(inPrev_, BUFFER_NUM, bytesT);
    pipe_.InitBuffer(inCur_, BUFFER_NUM, bytesT);
    pipe_.InitBuffer(inNext_, BUFFER_NUM, bytesT);
    pipe_.InitBuffer(inNu_, BUFFER_NUM, bytesT);
    pipe_.InitBuffer(outQue_, BUFFER_NUM, bytesT);
    pipe_.InitBuffer(maskBuf_, bytesF);
    pipe_.InitBuffer(f32Buf_, 4 * bytesF);
    BuildMask();
    const int32_t id = GetTPipePtr()->FetchEventID(AscendC::HardEvent::S_V);  // masks were written by SetValue
    AscendC::SetFlag<AscendC::HardEvent::S_V>(id);
    AscendC::WaitFlag<AscendC::HardEvent::S_V>(id);
  }

  __aicore__ inline void Process() {
    for (uint32_t tile = tileBegin_; tile < tileEnd_; ++tile) {
      const uint32_t r0 = tile * rowsPerTile_;
      const uint32_t nRows = r0 + rowsPerTile_ <= rows_ ? rowsPerTile_ : rows_ - r0;
      const uint32_t base = r0 * frames_;
      const uint32_t inner = nRows * frames_ - 2;
      CopyIn(base, inner);
      Compute(inner);
      CopyOut(base, inner);
    }
  }

 private:
  // mask[k] = 1 when flat position k+1 of a tile is an interior frame (tiles start at a row).
  __aicore__ inline void BuildMask() {
    AscendC::LocalTensor<float> mask = maskBuf_.Get<float>();
    for (uint32_t k = 0; k + 2 <= tileLen_; ++k) {
      const uint32_t t = (k + 1) % frames_;
      mask.SetValue(k, (t != 0 && t != frames_ - 1) ? 1.0f : 0.0f);
    }
  }

  __aicore__ inline void Load(AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM>& que,
                              AscendC::GlobalTensor<T>& gm, uint32_t offset, uint32_t len) {
    AscendC::LocalTensor<T> local = que.template AllocTensor<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(len * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPadExtParams<T> pad{false, 0, 0, 0};
    AscendC::DataCopyPad(local, gm[offset], params, pad);
    que.EnQue(local);
  }

  __aicore__ inline void CopyIn(uint32_t base, uint32_t inner) {
    Load(inPrev_, rhoGm_, base, inner);
    Load(inCur_, rhoGm_, base + 1, inner);
    Load(inNext_, rhoGm_, base + 2, inner);
    Load(inNu_, nuGm_, base + 1, inner);
  }

  __aicore__ inline void ToFloat(const AscendC::LocalTensor<float>& dst, const AscendC::LocalTensor<T>& src,
                                 uint32_t len) {
    if constexpr (std::is_same<T, float>::value) {
      AscendC::Adds(dst, src, 0.0f, len);
    } else {
      AscendC::Cast(dst, src, AscendC::RoundMode::CAST_NONE, len);
    }
  }

  __aicore__ inline void Compute(uint32_t inner) {
    AscendC::LocalTensor<T> prevT = inPrev_.DeQue<T>();
    AscendC::LocalTensor<T> curT = inCur_.DeQue<T>();
    AscendC::LocalTensor<T> nextT = inNext_.DeQue<T>();
    AscendC::LocalTensor<T> nuT = inNu_.DeQue<T>();
    AscendC::LocalTensor<T> outT = outQue_.AllocTensor<T>();
    AscendC::LocalTensor<float> f = f32Buf_.Get<float>();
    AscendC::LocalTensor<float> prev = f;
    AscendC::LocalTensor<float> cur = f[tileLen_];
    AscendC::LocalTensor<float> next = f[2 * tileLen_];
    AscendC::LocalTensor<float> coef = f[3 * tileLen_];
    AscendC::LocalTensor<float> mask = maskBuf_.Get<float>();
    ToFloat(prev, prevT, inner);
    ToFloat(cur, curT, inner);
    ToFloat(next, nextT, inner);
    ToFloat(coef, nuT, inner);
    AscendC::Muls(coef, coef, dt_, inner);                 // k = dt * nu
    AscendC::Mul(coef, coef, mask, inner);                 // k = 0 on row boundaries
    if (cfl_) {
      AscendC::Mins(coef, coef, FPD_CFL_MAX, inner);       // k = min(k, 1/2)
    }
    AscendC::Axpy(prev, cur, -2.0f, inner);                // rho_{t-1} - 2 rho_t
    AscendC::Add(prev, prev, next, inner);                 // lap
    AscendC::Mul(prev, prev, coef, inner);                 // k * lap
    AscendC::Add(cur, cur, prev, inner);                   // rho_t + k * lap
    if constexpr (std::is_same<T, float>::value) {
      AscendC::Adds(outT, cur, 0.0f, inner);
    } else {
      AscendC::Cast(outT, cur, AscendC::RoundMode::CAST_RINT, inner);
    }
    outQue_.EnQue(outT);
    inPrev_.FreeTensor(prevT);
    inCur_.FreeTensor(curT);
    inNext_.FreeTensor(nextT);
    inNu_.FreeTensor(nuT);
  }

  __aicore__ inline void CopyOut(uint32_t base, uint32_t inner) {
    AscendC::LocalTensor<T> outT = outQue_.DeQue<T>();
    AscendC::DataCopyExtParams params{1, static_cast<uint32_t>(inner * sizeof(T)), 0, 0, 0};
    AscendC::DataCopyPad(outGm_[base + 1], outT, params);
    outQue_.FreeTensor(outT);
    outGm_.SetValue(base, rhoGm_.GetValue(base));                  // first frame of the tile's first row
    outGm_.SetValue(base + inner + 1, rhoGm_.GetValue(base + inner + 1));  // last frame of its last row
  }

  AscendC::TPipe pipe_;
  AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM> inPrev_, inCur_, inNext_, inNu_;
  AscendC::TQue<AscendC::TPosition::VECOUT, BUFFER_NUM> outQue_;
  AscendC::TBuf<AscendC::TPosition::VECCALC> maskBuf_, f32Buf_;
  AscendC::GlobalTensor<T> rhoGm_, nuGm_, outGm_;
  uint32_t frames_ = 0, rows_ = 0, rowsPerTile_ = 0, tileLen_ = 0, tileBegin_ = 0, tileEnd_ = 0;
  float dt_ = 1.0f;
  bool cfl_ = false;
};

extern "C" __global__ __aicore__ void fp_diffusion_stencil(GM_ADDR rho, GM_ADDR nu, GM_ADDR out, GM_ADDR workspace,
                                                           GM_ADDR tiling) {
  GET_TILING_DATA(td, tiling);
  if (td.frames < 3) {  // identity: copy rho row block by row block
    AscendC::GlobalTensor<DTYPE_RHO> src, dst;
    src.SetGlobalBuffer((__gm__ DTYPE_RHO*)rho, td.rows * td.frames);
    dst.SetGlobalBuffer((__gm__ DTYPE_RHO*)out, td.rows * td.frames);
    const uint32_t begin = AscendC::GetBlockIdx() * td.tilesPerBlock * td.rowsPerTile * td.frames;
    const uint32_t end0 = begin + td.tilesPerBlock * td.rowsPerTile * td.frames;
    const uint32_t end = end0 < td.rows * td.frames ? end0 : td.rows * td.frames;
    for (uint32_t k = begin; k < end; ++k) {
      dst.SetValue(k, src.GetValue(k));
    }
    return;
  }
  KernelFPDiffusionStencil<DTYPE_RHO> op;
  op.Init(rho, nu, out, td);
  op.Process();
}
