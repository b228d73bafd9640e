// Minimal declarations of the AscendC kernel API surface used by op_kernel/, for a host-compiler
// syntax check only (tests/test_ascend_static.py). Not an implementation.
#ifndef AAM_STUB_KERNEL_OPERATOR_H
#define AAM_STUB_KERNEL_OPERATOR_H
#include <cstdint>
#include <type_traits>

#define __aicore__
#define __global__
#define __gm__
using GM_ADDR = uint8_t*;
struct half { half() = default; half(float) {} operator float() const { return 0.f; } };
struct bfloat16_t { bfloat16_t() = default; bfloat16_t(float) {} operator float() const { return 0.f; } };

namespace AscendC {
enum class TPosition { VECIN, VECOUT, VECCALC };
enum class RoundMode { CAST_NONE, CAST_RINT, CAST_ROUND };
enum class CMPMODE { LT, GT, EQ, LE, GE, NE };
enum class SELMODE { VSEL_CMPMASK_SPR, VSEL_TENSOR_SCALAR_MODE, VSEL_TENSOR_TENSOR_MODE };

template <typename T> class LocalTensor {
 public:
  LocalTensor operator[](uint32_t) const { return *this; }
  T GetValue(uint32_t) const { return T(); }
  void SetValue(uint32_t, T) const {}
};
template <typename T> class GlobalTensor {
 public:
  void SetGlobalBuffer(__gm__ T*, uint64_t) {}
  GlobalTensor operator[](uint64_t) const { return *this; }
  T GetValue(uint64_t) const { return T(); }
  void SetValue(uint64_t, T) const {}
};
template <TPosition P, int32_t N> class TQue {
 public:
  template <typename T> LocalTensor<T> AllocTensor() { return {}; }
  template <typename T> void EnQue(const LocalTensor<T>&) {}
  template <typename T> LocalTensor<T> DeQue() { return {}; }
  template <typename T> void FreeTensor(const LocalTensor<T>&) {}
};
template <TPosition P> class TBuf {
 public:
  template <typename T> LocalTensor<T> Get() { return {}; }
};
class TPipe {
 public:
  template <TPosition P, int32_t N> void InitBuffer(TQue<P, N>&, int32_t, uint32_t) {}
  template <TPosition P> void InitBuffer(TBuf<P>&, uint32_t) {}
};
struct DataCopyExtParams { uint16_t blockCount; uint32_t blockLen; uint32_t srcStride; uint32_t dstStride; uint32_t rsv; };
template <typename T> struct DataCopyPadExtParams { bool isPad; uint8_t leftPadding; uint8_t rightPadding; T paddingValue; };

int64_t GetBlockIdx();
int64_t GetBlockNum();
template <typename T> void DataCopyPad(const LocalTensor<T>&, const GlobalTensor<T>&, const DataCopyExtParams&,
                                       const DataCopyPadExtParams<T>&);
template <typename T> void DataCopyPad(const GlobalTensor<T>&, const LocalTensor<T>&, const DataCopyExtParams&);
template <typename T> void Add(const LocalTensor<T>&, const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T> void Sub(const LocalTensor<T>&, const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T> void Mul(const LocalTensor<T>&, const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T> void Div(const LocalTensor<T>&, const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T, typename U> void Adds(const LocalTensor<T>&, const LocalTensor<U>&, float, int32_t);
template <typename T> void Muls(const LocalTensor<T>&, const LocalTensor<T>&, float, int32_t);
template <typename T> void Maxs(const LocalTensor<T>&, const LocalTensor<T>&, float, int32_t);
template <typename T> void Mins(const LocalTensor<T>&, const LocalTensor<T>&, float, int32_t);
template <typename T> void Axpy(const LocalTensor<T>&, const LocalTensor<T>&, float, int32_t);
template <typename T> void Sqrt(const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T> void Ln(const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T> void Duplicate(const LocalTensor<T>&, float, int32_t);
template <typename T> void ReduceSum(const LocalTensor<T>&, const LocalTensor<T>&, const LocalTensor<T>&, int32_t);
template <typename T, typename U> void Cast(const LocalTensor<T>&, const LocalTensor<U>&, RoundMode, int32_t);
template <typename T> void CompareScalar(const LocalTensor<uint8_t>&, const LocalTensor<T>&, float, CMPMODE, int32_t);
template <typename T> void Select(const LocalTensor<T>&, const LocalTensor<uint8_t>&, const LocalTensor<T>&, float,
                                  SELMODE, int32_t);
float Sqrt(float);
float Log(float);
}  // namespace AscendC

#define GET_TILING_DATA(var, tiling) AAM_TILING_TYPE var{}
#endif
