// Host side of LorentzDistance and LorentzDistanceGrad: tiling, shape/dtype inference, OpDef.
#include <algorithm>
#include <cstdint>
#include "lorentz_distance_tiling.h"
#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

namespace optiling {
// UB kept free for the scratch that Select and Duplicate use at TMP_UB_OFFSET (184 KB on dav-c220).
constexpr uint64_t LD_UB_RESERVED = 8 * 1024;
constexpr uint64_t LD_ALIGN = 64;  // d-chunks and resident rows are whole 256-byte fp32 repeats

static uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// UB bytes the kernel's InitBuffer calls request (op_kernel/lorentz_distance*.cpp, Init) for rows of
// d elements of bytesT bytes, d-chunks of `chunk` elements and output tiles of tileM distances:
//   staging queues (x and y chunks; grad: u, v and output chunks), double-buffered, in bytesT;
//   fp32 rows resident for the whole d (forward: x; grad: u and its gradient accumulator);
//   3 fp32 chunk scratch rows (partner row, product, ReduceSum work) and 9 fp32 vectors of tileM.
static uint64_t LorentzUbBytes(uint64_t d, uint64_t chunk, uint64_t tileM, uint64_t bytesT, bool grad) {
  const uint64_t stage = 2 * AlignUp(chunk * bytesT, 32);
  const uint64_t queues = grad ? 3 * stage : 2 * stage + 2 * AlignUp(tileM * bytesT, 32);
  const uint64_t resident = (grad ? 2 : 1) * AlignUp(d, LD_ALIGN) * 4;
  return queues + resident + 3 * chunk * 4 + 9 * tileM * 4;
}

// Largest d-chunk (a multiple of LD_ALIGN, at most the aligned row) that fits in budget; 0 if none.
static uint64_t LorentzChunk(uint64_t budget, uint64_t d, uint64_t tileM, uint64_t bytesT, bool grad) {
  uint64_t chunk = AlignUp(d, LD_ALIGN);
  while (chunk > 0 && LorentzUbBytes(d, chunk, tileM, bytesT, grad) > budget) {
    const uint64_t fixed = LorentzUbBytes(d, 0, tileM, bytesT, grad);
    const uint64_t perAlign = LorentzUbBytes(d, LD_ALIGN, tileM, bytesT, grad) - fixed;  // bytes per 64 elements
    const uint64_t fit = budget > fixed ? (budget - fixed) / perAlign * LD_ALIGN : 0;
    chunk = std::min(chunk - LD_ALIGN, fit);
  }
  return chunk;
}

static ge::graphStatus LorentzTiling(gert::TilingContext* context, bool grad) {
  const gert::Shape& xs = context->GetInputShape(0)->GetStorageShape();
  const gert::Shape& ys = context->GetInputShape(1)->GetStorageShape();
  if (xs.GetDimNum() != 2 || ys.GetDimNum() != 2 || xs.GetDim(1) != ys.GetDim(1) || xs.GetDim(0) <= 0 ||
      ys.GetDim(0) <= 0 || xs.GetDim(1) <= 0) {
    return ge::GRAPH_FAILED;
  }
  const uint64_t n = static_cast<uint64_t>(xs.GetDim(0));
  const uint64_t m = static_cast<uint64_t>(ys.GetDim(0));
  const uint64_t d = static_cast<uint64_t>(xs.GetDim(1));
  const gert::RuntimeAttrs* attrs = context->GetAttrs();
  const int64_t mode = *attrs->GetAttrPointer<int64_t>(0);
  const float eps = *attrs->GetAttrPointer<float>(1);
  if (mode < 0 || mode > 2 || (mode == 1 && m != n) || n * d > UINT32_MAX || m * d > UINT32_MAX ||
      n * m > UINT32_MAX) {
    return ge::GRAPH_FAILED;
  }
  auto platform = platform_ascendc::PlatformAscendC(context->GetPlatformInfo());
  uint64_t ubSize = 0;
  platform.GetCoreMemSize(platform_ascendc::CoreMemType::UB, ubSize);
  const uint64_t bytesT = context->GetInputDesc(0)->GetDataType() == ge::DT_FLOAT ? 4 : 2;
  const uint64_t chunk =
      ubSize > LD_UB_RESERVED ? LorentzChunk(ubSize - LD_UB_RESERVED, d, LD_TILE_M, bytesT, grad) : 0;
  if (chunk == 0) {  // the fp32 row(s) of length d do not fit in UB
    return ge::GRAPH_FAILED;
  }
  const uint32_t coreNum = platform.GetCoreNumAiv();
  const uint64_t blocks = std::max<uint64_t>(1, std::min<uint64_t>(coreNum, n));
  const uint64_t rowsPerBlock = (n + blocks - 1) / blocks;

  LorentzDistanceTilingData tiling;
  tiling.set_n(static_cast<uint32_t>(n));
  tiling.set_m(static_cast<uint32_t>(m));
  tiling.set_d(static_cast<uint32_t>(d));
  tiling.set_tileM(LD_TILE_M);
  tiling.set_rowsPerBlock(static_cast<uint32_t>(rowsPerBlock));
  tiling.set_mode(static_cast<uint32_t>(mode));
  tiling.set_chunk(static_cast<uint32_t>(chunk));
  tiling.set_eps(eps);
  context->SetBlockDim(static_cast<uint32_t>((n + rowsPerBlock - 1) / rowsPerBlock));
  tiling.SaveToBuffer(context->GetRawTilingData()->GetData(), context->GetRawTilingData()->GetCapacity());
  context->GetRawTilingData()->SetDataSize(tiling.GetDataSize());
  size_t* workspace = context->GetWorkspaceSizes(1);
  workspace[0] = platform.GetLibApiWorkSpaceSize();
  return ge::GRAPH_SUCCESS;
}

static ge::graphStatus ForwardTiling(gert::TilingContext* context) { return LorentzTiling(context, false); }
static ge::graphStatus GradTiling(gert::TilingContext* context) { return LorentzTiling(context, true); }
}  // namespace optiling

namespace ge {
static ge::graphStatus ForwardInferShape(gert::InferShapeContext* context) {
  const gert::Shape* xs = context->GetInputShape(0);
  const gert::Shape* ys = context->GetInputShape(1);
  const int64_t mode = *context->GetAttrs()->GetAttrPointer<int64_t>(0);
  gert::Shape* out = context->GetOutputShape(0);
  if (mode == 0) {
    out->SetDimNum(2);
    out->SetDim(0, xs->GetDim(0));
    out->SetDim(1, ys->GetDim(0));
  } else {
    out->SetDimNum(1);
    out->SetDim(0, xs->GetDim(0));
  }
  return GRAPH_SUCCESS;
}
static ge::graphStatus GradInferShape(gert::InferShapeContext* context) {
  *context->GetOutputShape(0) = *context->GetInputShape(0);
  *context->GetOutputShape(1) = *context->GetInputShape(1);
  gert::Shape* dc = context->GetOutputShape(2);
  dc->SetDimNum(1);
  dc->SetDim(0, context->GetInputShape(0)->GetDim(0));
  return GRAPH_SUCCESS;
}
static ge::graphStatus ForwardInferDataType(gert::InferDataTypeContext* context) {
  context->SetOutputDataType(0, context->GetInputDataType(0));
  return GRAPH_SUCCESS;
}
static ge::graphStatus GradInferDataType(gert::InferDataTypeContext* context) {
  for (size_t i = 0; i < 3; ++i) {
    context->SetOutputDataType(i, context->GetInputDataType(0));
  }
  return GRAPH_SUCCESS;
}
}  // namespace ge

namespace ops {
static const std::vector<ge::DataType> kTypes = {ge::DT_FLOAT16, ge::DT_FLOAT, ge::DT_BF16};
static const std::vector<ge::Format> kFormats = {ge::FORMAT_ND, ge::FORMAT_ND, ge::FORMAT_ND};

class LorentzDistance : public OpDef {
 public:
  explicit LorentzDistance(const char* name) : OpDef(name) {
    this->Input("x").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("y").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("curv").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("z").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Attr("mode").AttrType(OPTIONAL).Int(0);
    this->Attr("eps").AttrType(OPTIONAL).Float(1e-4f);
    this->SetInferShape(ge::ForwardInferShape).SetInferDataType(ge::ForwardInferDataType);
    this->AICore().SetTiling(optiling::ForwardTiling);
    this->AICore().AddConfig("ascend910b");
  }
};

class LorentzDistanceGrad : public OpDef {
 public:
  explicit LorentzDistanceGrad(const char* name) : OpDef(name) {
    this->Input("x").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("y").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("curv").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("dout").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("dx").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("dy").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("dcurv_rows").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Attr("mode").AttrType(OPTIONAL).Int(0);
    this->Attr("eps").AttrType(OPTIONAL).Float(1e-4f);
    this->SetInferShape(ge::GradInferShape).SetInferDataType(ge::GradInferDataType);
    this->AICore().SetTiling(optiling::GradTiling);
    this->AICore().AddConfig("ascend910b");
  }
};

OP_ADD(LorentzDistance);
OP_ADD(LorentzDistanceGrad);
}  // namespace ops
