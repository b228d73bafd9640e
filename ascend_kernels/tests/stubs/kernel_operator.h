// Host-compiler stand-in for the AscendC kernel API of CANN 8.1.RC1 (kernel_operator.h), for
// tests/test_ascend_static.py (g++ -fsyntax-only) and tests/ascend/ (UB budget and GM coverage run).
//
// It declares exactly the AscendC functions and types that op_kernel/ uses, with the signatures of
// the CANN 8.1.RC1 headers (basic_api/interface/*.h: template heads, parameter types and
// qualifiers, default template arguments). Anything else, such as the scalar Sqrt/Log that 8.1
// does not have, fails to compile. Bodies compute nothing: they record what the real 8.1 code
// asserts on or drops, in aam_stub::Recorder (not AscendC API):
//   TPipe::InitBuffer bytes, LocalTensor bounds and 32-byte alignment of UB operands, counts above
//   an operand's size, CompareScalar counts that are not whole 256-byte repeats (8.1 issues
//   floor(count * sizeof(T) / 256) repeats), GM accesses outside SetGlobalBuffer, and GM writes
//   per element (so a test can check that every output element is written exactly once).
// GET_TILING_DATA copies sizeof/8 uint64 words, as the CPU-side macro of CANN's generator does.
#ifndef AAM_STUB_KERNEL_OPERATOR_H
#define AAM_STUB_KERNEL_OPERATOR_H
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#define __aicore__
#define __global__
#define __gm__
using GM_ADDR = uint8_t*;
// 2-byte storage like the real types (buffer sizes depend on sizeof); values are not modelled.
struct half {
  half() = default;
  half(float v) { (void)v; }
  operator float() const { return 0.f; }
  uint16_t bits = 0;
};
struct bfloat16_t {
  bfloat16_t() = default;
  bfloat16_t(float v) { (void)v; }
  operator float() const { return 0.f; }
  uint16_t bits = 0;
};

namespace AscendC {
class TPipe;
}
AscendC::TPipe* GetTPipePtr();

namespace aam_stub {
// What the kernels did under the stub API (one process-wide instance).
struct Recorder {
  struct Output {
    uintptr_t base = 0;
    size_t elems = 0, elemBytes = 0;
    std::vector<uint32_t> writes;
  };
  uint64_t ubBytes = 0;  // sum of InitBuffer requests of the current TPipe
  uint64_t maxUbBytes = 0;
  int64_t blockIdx = 0, blockNum = 1;
  std::vector<std::string> violations;
  std::map<std::string, Output> outputs;
  void Violation(const std::string& what) {
    if (violations.size() < 20) violations.push_back(what);
  }
  void GmWrite(uintptr_t addr, size_t bytes) {
    for (auto& kv : outputs) {
      Output& o = kv.second;
      if (addr >= o.base && addr + bytes <= o.base + o.elems * o.elemBytes) {
        if ((addr - o.base) % o.elemBytes != 0 || bytes % o.elemBytes != 0) Violation("unaligned GM write " + kv.first);
        for (size_t e = (addr - o.base) / o.elemBytes, k = 0; k < bytes / o.elemBytes; ++k) ++o.writes[e + k];
        return;
      }
    }
    Violation("GM write outside every output tensor");
  }
};
inline Recorder& Rec() {
  static Recorder r;
  return r;
}
struct Access;  // reaches the stub-only members below; kernels see only the real API
// Copies sizeof/8 uint64 words, like the CPU-side GET_TILING_DATA that tiling_data_def_build.py emits.
inline void CopyTiling(void* dst, const uint8_t* src, size_t bytes) { std::memcpy(dst, src, bytes / 8 * 8); }
}  // namespace aam_stub

namespace AscendC {
enum class TPosition : uint8_t { GM, A1, A2, B1, B2, C1, C2, CO1, CO2, VECIN, VECOUT, VECCALC, LCM = VECCALC };
enum class RoundMode : uint8_t { CAST_NONE = 0, CAST_RINT, CAST_FLOOR, CAST_CEIL, CAST_ROUND, CAST_TRUNC, CAST_ODD };
enum class CMPMODE : uint8_t { LT = 0, GT, EQ, LE, GE, NE };
enum class SELMODE : uint8_t { VSEL_CMPMASK_SPR = 0, VSEL_TENSOR_SCALAR_MODE, VSEL_TENSOR_TENSOR_MODE };
enum class HardEvent : uint8_t {
  MTE2_MTE1, MTE1_MTE2, MTE1_M, M_MTE1, MTE2_V, V_MTE2, MTE3_V, V_MTE3, M_V, V_M, V_V, MTE3_MTE1, MTE1_MTE3,
  MTE1_V, MTE2_M, M_MTE2, V_MTE1, M_FIX, FIX_M, MTE3_MTE2, MTE2_MTE3, S_V, V_S, S_MTE2, MTE2_S, S_MTE3, MTE3_S,
  MTE2_FIX, FIX_MTE2, FIX_S, M_S, FIX_MTE3, MTE1_FIX, FIX_MTE1, FIX_FIX, MAX,
};
using TEventID = int8_t;

template <typename T> class LocalTensor {
 public:
  using PrimType = T;
  LocalTensor() = default;
  PrimType GetValue(const uint32_t index) const {
    Check(index, 1, "LocalTensor::GetValue");
    return PrimType();
  }
  template <typename T1> void SetValue(const uint32_t index, const T1 value) const {
    (void)value;
    Check(index, 1, "LocalTensor::SetValue");
  }
  LocalTensor operator[](const uint32_t offset) const {
    Check(offset, 0, "LocalTensor::operator[]");
    return LocalTensor(ubOffset_ + offset * sizeof(T), offset <= elems_ ? elems_ - offset : 0);
  }
  uint32_t GetSize() const { return elems_; }

 private:
  friend struct aam_stub::Access;
  LocalTensor(uint32_t ubOffset, uint32_t elems) : ubOffset_(ubOffset), elems_(elems) {}
  // count elements from the start: inside the tensor, and the UB address 32-byte aligned.
  void CheckOperand(int64_t count, const char* api) const {
    if (ubOffset_ % 32 != 0) aam_stub::Rec().Violation(std::string(api) + ": UB operand not 32-byte aligned");
    Check(0, count, api);
  }
  void Check(int64_t first, int64_t count, const char* api) const {
    if (first < 0 || count < 0 || first + count > static_cast<int64_t>(elems_)) {
      aam_stub::Rec().Violation(std::string(api) + ": range past the LocalTensor");
    }
  }
  uint32_t ubOffset_ = 0, elems_ = 0;
};

template <typename T> class GlobalTensor {
 public:
  using PrimType = T;
  void SetGlobalBuffer(__gm__ PrimType* buffer, uint64_t bufferSize) {
    base_ = reinterpret_cast<uintptr_t>(buffer);
    size_ = bufferSize;
    offset_ = 0;
  }
  PrimType GetValue(const uint64_t offset) const {
    Check(offset, 1, "GlobalTensor::GetValue");
    return PrimType();
  }
  void SetValue(const uint64_t offset, PrimType value) {
    (void)value;
    if (Check(offset, 1, "GlobalTensor::SetValue")) aam_stub::Rec().GmWrite(Addr(offset), sizeof(T));
  }
  GlobalTensor operator[](const uint64_t offset) const {
    GlobalTensor t = *this;
    t.offset_ += offset;
    return t;
  }

 private:
  friend struct aam_stub::Access;
  bool Check(uint64_t first, uint64_t count, const char* api) const {
    const bool ok = offset_ + first + count <= size_;
    if (!ok) aam_stub::Rec().Violation(std::string(api) + ": GM range past SetGlobalBuffer");
    return ok;
  }
  uintptr_t Addr(uint64_t first) const { return base_ + (offset_ + first) * sizeof(T); }
  uintptr_t base_ = 0;
  uint64_t size_ = 0, offset_ = 0;
};

}  // namespace AscendC

namespace aam_stub {
struct Access {
  template <typename T> static AscendC::LocalTensor<T> Make(uint32_t ubOffset, uint32_t bytes) {
    return AscendC::LocalTensor<T>(ubOffset, bytes / sizeof(T));
  }
  template <typename T> static void Operand(const AscendC::LocalTensor<T>& t, int64_t count, const char* api) {
    t.CheckOperand(count, api);
  }
  template <typename T> static bool Gm(const AscendC::GlobalTensor<T>& t, uint64_t count, const char* api) {
    return t.Check(0, count, api);
  }
  template <typename T> static uintptr_t Addr(const AscendC::GlobalTensor<T>& t) { return t.Addr(0); }
};
}  // namespace aam_stub

namespace AscendC {
class TPipe;
template <TPosition pos, int32_t depth, auto mask = 0> class TQue {
 public:
  TQue() = default;
  template <typename T> LocalTensor<T> AllocTensor() { return aam_stub::Access::Make<T>(ubOffset_, len_); }
  template <typename T> void FreeTensor(LocalTensor<T>& tensor) { (void)tensor; }
  template <typename T> bool EnQue(const LocalTensor<T>& tensor) {
    (void)tensor;
    return true;
  }
  template <typename T> LocalTensor<T> DeQue() { return aam_stub::Access::Make<T>(ubOffset_, len_); }

 private:
  friend class TPipe;
  uint32_t ubOffset_ = 0, len_ = 0;
};
template <TPosition pos = TPosition::LCM> class TBuf {
 public:
  template <typename T> LocalTensor<T> Get() { return aam_stub::Access::Make<T>(ubOffset_, len_); }

 private:
  friend class TPipe;
  uint32_t ubOffset_ = 0, len_ = 0;
};
class TPipe {
 public:
  TPipe() {
    aam_stub::Rec().ubBytes = 0;
    Current() = this;
  }
  TEventID FetchEventID(HardEvent evt) { return static_cast<TEventID>(static_cast<int>(evt) % 8); }
  template <class T> bool InitBuffer(T& que, uint8_t num, uint32_t len) {
    que.ubOffset_ = Take(static_cast<uint64_t>(num) * Align(len));
    que.len_ = len;
    return true;
  }
  template <TPosition bufPos> bool InitBuffer(TBuf<bufPos>& buf, uint32_t len) {
    buf.ubOffset_ = Take(Align(len));
    buf.len_ = len;
    return true;
  }

 private:
  friend TPipe* ::GetTPipePtr();
  static TPipe*& Current() {
    static TPipe* pipe = nullptr;
    return pipe;
  }
  static uint64_t Align(uint64_t len) { return (len + 31) / 32 * 32; }
  static uint32_t Take(uint64_t bytes) {
    aam_stub::Recorder& r = aam_stub::Rec();
    const uint64_t at = r.ubBytes;
    r.ubBytes += bytes;
    if (r.ubBytes > r.maxUbBytes) r.maxUbBytes = r.ubBytes;
    return static_cast<uint32_t>(at);
  }
};

struct DataCopyExtParams {
  DataCopyExtParams() {}
  DataCopyExtParams(const uint16_t count, const uint32_t len, const uint32_t srcStrideIn, const uint32_t dstStrideIn,
                    const uint32_t rsvIn)
      : blockCount(count), blockLen(len), srcStride(srcStrideIn), dstStride(dstStrideIn), rsv(rsvIn) {}
  uint16_t blockCount = 1;
  uint32_t blockLen = 0;
  uint32_t srcStride = 0;
  uint32_t dstStride = 0;
  uint32_t rsv = 0;
};
template <typename T> struct DataCopyPadExtParams {
  DataCopyPadExtParams() {}
  DataCopyPadExtParams(const bool isPadValue, const uint8_t leftPadValue, const uint8_t rightPadValue, T padValue)
      : isPad(isPadValue), leftPadding(leftPadValue), rightPadding(rightPadValue), paddingValue(padValue) {}
  bool isPad = false;
  uint8_t leftPadding = 0;
  uint8_t rightPadding = 0;
  T paddingValue = 0;
};

template <HardEvent event> void SetFlag(int32_t eventID) { (void)eventID; }
template <HardEvent event> void WaitFlag(int32_t eventID) { (void)eventID; }

inline int64_t GetBlockIdx() { return aam_stub::Rec().blockIdx; }
inline int64_t GetBlockNum() { return aam_stub::Rec().blockNum; }

// DataCopyPad GM -> UB and UB -> GM, one burst (the kernels use blockCount = 1, no strides).
template <typename T>
void DataCopyPad(const LocalTensor<T>& dstLocal, const GlobalTensor<T>& srcGlobal,
                 const DataCopyExtParams& dataCopyParams, const DataCopyPadExtParams<T>& padParams) {
  (void)padParams;
  const uint64_t elems = uint64_t(dataCopyParams.blockCount) * dataCopyParams.blockLen / sizeof(T);
  if (dataCopyParams.blockCount != 1 || dataCopyParams.blockLen % sizeof(T) != 0) {
    aam_stub::Rec().Violation("DataCopyPad: only whole elements in one burst are modelled");
  }
  aam_stub::Access::Operand(dstLocal, static_cast<int64_t>(elems), "DataCopyPad GM->UB");
  aam_stub::Access::Gm(srcGlobal, elems, "DataCopyPad GM->UB");
}
template <typename T>
void DataCopyPad(const GlobalTensor<T>& dstGlobal, const LocalTensor<T>& srcLocal,
                 const DataCopyExtParams& dataCopyParams) {
  const uint64_t elems = uint64_t(dataCopyParams.blockCount) * dataCopyParams.blockLen / sizeof(T);
  if (dataCopyParams.blockCount != 1 || dataCopyParams.blockLen % sizeof(T) != 0) {
    aam_stub::Rec().Violation("DataCopyPad: only whole elements in one burst are modelled");
  }
  aam_stub::Access::Operand(srcLocal, static_cast<int64_t>(elems), "DataCopyPad UB->GM");
  if (aam_stub::Access::Gm(dstGlobal, elems, "DataCopyPad UB->GM")) {
    aam_stub::Rec().GmWrite(aam_stub::Access::Addr(dstGlobal), elems * sizeof(T));
  }
}

// Level-2 (count) vector APIs: the operands hold calCount elements.
template <typename T>
void Add(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,
         const int32_t& calCount) {
  aam_stub::Access::Operand(dstLocal, calCount, "Add"), aam_stub::Access::Operand(src0Local, calCount, "Add"),
      aam_stub::Access::Operand(src1Local, calCount, "Add");
}
template <typename T>
void Sub(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,
         const int32_t& calCount) {
  aam_stub::Access::Operand(dstLocal, calCount, "Sub"), aam_stub::Access::Operand(src0Local, calCount, "Sub"),
      aam_stub::Access::Operand(src1Local, calCount, "Sub");
}
template <typename T>
void Mul(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,
         const int32_t& calCount) {
  aam_stub::Access::Operand(dstLocal, calCount, "Mul"), aam_stub::Access::Operand(src0Local, calCount, "Mul"),
      aam_stub::Access::Operand(src1Local, calCount, "Mul");
}
template <typename T>
void Div(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,
         const int32_t& calCount) {
  aam_stub::Access::Operand(dstLocal, calCount, "Div"), aam_stub::Access::Operand(src0Local, calCount, "Div"),
      aam_stub::Access::Operand(src1Local, calCount, "Div");
}
template <typename T, bool isSetMask = true>
void Adds(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue,
          const int32_t& calCount) {
  (void)scalarValue;
  aam_stub::Access::Operand(dstLocal, calCount, "Adds"), aam_stub::Access::Operand(srcLocal, calCount, "Adds");
}
template <typename T, bool isSetMask = true>
void Muls(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue,
          const int32_t& calCount) {
  (void)scalarValue;
  aam_stub::Access::Operand(dstLocal, calCount, "Muls"), aam_stub::Access::Operand(srcLocal, calCount, "Muls");
}
template <typename T, bool isSetMask = true>
void Maxs(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue,
          const int32_t& calCount) {
  (void)scalarValue;
  aam_stub::Access::Operand(dstLocal, calCount, "Maxs"), aam_stub::Access::Operand(srcLocal, calCount, "Maxs");
}
template <typename T, bool isSetMask = true>
void Mins(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue,
          const int32_t& calCount) {
  (void)scalarValue;
  aam_stub::Access::Operand(dstLocal, calCount, "Mins"), aam_stub::Access::Operand(srcLocal, calCount, "Mins");
}
template <typename T, typename U>
void Axpy(const LocalTensor<T>& dstLocal, const LocalTensor<U>& srcLocal, const U& scalarValue,
          const int32_t& calCount) {
  (void)scalarValue;
  aam_stub::Access::Operand(dstLocal, calCount, "Axpy"), aam_stub::Access::Operand(srcLocal, calCount, "Axpy");
}
template <typename T>
void Sqrt(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const int32_t& calCount) {
  aam_stub::Access::Operand(dstLocal, calCount, "Sqrt"), aam_stub::Access::Operand(srcLocal, calCount, "Sqrt");
}
template <typename T>
void Ln(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const int32_t& calCount) {
  aam_stub::Access::Operand(dstLocal, calCount, "Ln"), aam_stub::Access::Operand(srcLocal, calCount, "Ln");
}
template <typename T>
void Duplicate(const LocalTensor<T>& dstLocal, const T& scalarValue, const int32_t& calCount) {
  (void)scalarValue;
  aam_stub::Access::Operand(dstLocal, calCount, "Duplicate");
}
template <typename T, bool isSetMask = true>
void ReduceSum(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const LocalTensor<T>& workLocal,
               const int32_t count) {
  aam_stub::Access::Operand(dstLocal, 1, "ReduceSum"), aam_stub::Access::Operand(srcLocal, count, "ReduceSum"),
      aam_stub::Access::Operand(workLocal, count, "ReduceSum");
}
template <typename T1, typename T2>
void Cast(const LocalTensor<T1>& dstLocal, const LocalTensor<T2>& srcLocal, const RoundMode& round_mode,
          const uint32_t calCount) {
  (void)round_mode;
  aam_stub::Access::Operand(dstLocal, calCount, "Cast"), aam_stub::Access::Operand(srcLocal, calCount, "Cast");
}
template <typename T, typename U>
void CompareScalar(const LocalTensor<U>& dstLocal, const LocalTensor<T>& src0Local, const T src1Scalar,
                   CMPMODE cmpMode, uint32_t calCount) {
  (void)src1Scalar, (void)cmpMode;
  if (calCount * sizeof(T) % 256 != 0) {
    aam_stub::Rec().Violation("CompareScalar: count is not a whole number of 256-byte repeats (8.1 drops the rest)");
  }
  aam_stub::Access::Operand(dstLocal, calCount / 8 / sizeof(U), "CompareScalar"), aam_stub::Access::Operand(src0Local, calCount, "CompareScalar");
}
template <typename T, typename U>
void Select(const LocalTensor<T>& dstLocal, const LocalTensor<U>& selMask, const LocalTensor<T>& src0Local,
            T src1Local, SELMODE selMode, uint32_t calCount) {
  (void)src1Local, (void)selMode;
  aam_stub::Access::Operand(dstLocal, calCount, "Select"), aam_stub::Access::Operand(src0Local, calCount, "Select");
  aam_stub::Access::Operand(selMask, (calCount + 7) / 8 / sizeof(U), "Select");
}
}  // namespace AscendC

inline AscendC::TPipe* GetTPipePtr() { return AscendC::TPipe::Current(); }  // the last TPipe built

#define GET_TILING_DATA(var, tiling) \
  AAM_TILING_TYPE var;               \
  aam_stub::CopyTiling(&var, tiling, sizeof(var))
#endif
