// Host side of LorentzDistance and LorentzDistanceGrad: tiling, shape/dtype inference, OpDef.
#include <algorithm>
#include "lorentz_distance_tiling.h"
#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

namespace optiling {
static ge::graphStatus LorentzTiling(gert::TilingContext* context) {
  const gert::Shape& xs = context->GetInputShape(0)->GetStorageShape();
  const gert::Shape& ys = context->GetInputShape(1)->GetStorageShape();
  if (xs.GetDimNum() != 2 || ys.GetDimNum() != 2 || xs.GetDim(1) != ys.GetDim(1)) {
    return ge::GRAPH_FAILED;
  }
  const uint32_t n = static_cast<uint32_t>(xs.GetDim(0));
  const uint32_t m = static_cast<uint32_t>(ys.GetDim(0));
  const uint32_t d = static_cast<uint32_t>(xs.GetDim(1));
  const gert::RuntimeAttrs* attrs = context->GetAttrs();
  const int64_t mode = *attrs->GetAttrPointer<int64_t>(0);
  const float eps = *attrs->GetAttrPointer<float>(1);
  if (d == 0 || d > LD_TILE_ELEMS || mode < 0 || mode > 2 || (mode == 1 && m != n)) {
    return ge::GRAPH_FAILED;
  }
  auto platform = platform_ascendc::PlatformAscendC(context->GetPlatformInfo());
  const uint32_t coreNum = platform.GetCoreNumAiv();
  const uint32_t tileM = std::max<uint32_t>(1, std::min<uint32_t>(LD_TILE_M, LD_TILE_ELEMS / d));
  const uint32_t blocks = std::max<uint32_t>(1, std::min<uint32_t>(coreNum, n));
  const uint32_t rowsPerBlock = std::max<uint32_t>(1, (n + blocks - 1) / blocks);

  LorentzDistanceTilingData tiling;
  tiling.set_n(n);
  tiling.set_m(m);
  tiling.set_d(d);
  tiling.set_tileM(tileM);
  tiling.set_rowsPerBlock(rowsPerBlock);
  tiling.set_mode(static_cast<uint32_t>(mode));
  tiling.set_eps(eps);
  context->SetBlockDim(std::max<uint32_t>(1, (n + rowsPerBlock - 1) / rowsPerBlock));
  tiling.SaveToBuffer(context->GetRawTilingData()->GetData(), context->GetRawTilingData()->GetCapacity());
  context->GetRawTilingData()->SetDataSize(tiling.GetDataSize());
  size_t* workspace = context->GetWorkspaceSizes(1);
  workspace[0] = platform.GetLibApiWorkSpaceSize();
  return ge::GRAPH_SUCCESS;
}
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
    this->AICore().SetTiling(optiling::LorentzTiling);
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
    this->AICore().SetTiling(optiling::LorentzTiling);
    this->AICore().AddConfig("ascend910b");
  }
};

OP_ADD(LorentzDistance);
OP_ADD(LorentzDistanceGrad);
}  // namespace ops
