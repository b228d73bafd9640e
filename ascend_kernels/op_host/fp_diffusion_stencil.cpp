// Host side of FPDiffusionStencil and FPDiffusionStencilGrad: tiling, shape/dtype inference, OpDef.
#include <algorithm>
#include "fp_diffusion_stencil_tiling.h"
#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

namespace optiling {
// rhoIndex: input holding rho (0 forward, 1 backward, whose input 0 is dout).
static ge::graphStatus StencilTiling(gert::TilingContext* context, size_t rhoIndex) {
  const gert::Shape& shape = context->GetInputShape(rhoIndex)->GetStorageShape();
  if (shape.GetDimNum() != 2) {
    return ge::GRAPH_FAILED;
  }
  const uint32_t rows = static_cast<uint32_t>(shape.GetDim(0));
  const uint32_t frames = static_cast<uint32_t>(shape.GetDim(1));
  if (frames == 0 || frames > FPD_TILE_LEN) {
    return ge::GRAPH_FAILED;
  }
  const gert::RuntimeAttrs* attrs = context->GetAttrs();
  const float dt = *attrs->GetAttrPointer<float>(0);
  const bool cfl = *attrs->GetAttrPointer<bool>(1);

  auto platform = platform_ascendc::PlatformAscendC(context->GetPlatformInfo());
  const uint32_t coreNum = platform.GetCoreNumAiv();
  const uint32_t rowsPerTile = std::max<uint32_t>(1, FPD_TILE_LEN / frames);
  const uint32_t tiles = (rows + rowsPerTile - 1) / rowsPerTile;
  const uint32_t blocks = std::max<uint32_t>(1, std::min<uint32_t>(coreNum, tiles));
  const uint32_t tilesPerBlock = (tiles + blocks - 1) / blocks;
  const uint32_t blockDim = tilesPerBlock > 0 ? (tiles + tilesPerBlock - 1) / tilesPerBlock : 1;

  FPDiffusionStencilTilingData tiling;
  tiling.set_rows(rows);
  tiling.set_frames(frames);
  tiling.set_rowsPerTile(rowsPerTile);
  tiling.set_tiles(tiles);
  tiling.set_tilesPerBlock(tilesPerBlock);
  tiling.set_dt(dt);
  tiling.set_cfl(cfl ? 1U : 0U);
  context->SetBlockDim(std::max<uint32_t>(1, blockDim));
  tiling.SaveToBuffer(context->GetRawTilingData()->GetData(), context->GetRawTilingData()->GetCapacity());
  context->GetRawTilingData()->SetDataSize(tiling.GetDataSize());
  size_t* workspace = context->GetWorkspaceSizes(1);
  workspace[0] = platform.GetLibApiWorkSpaceSize();
  return ge::GRAPH_SUCCESS;
}

static ge::graphStatus ForwardTiling(gert::TilingContext* context) { return StencilTiling(context, 0); }
static ge::graphStatus GradTiling(gert::TilingContext* context) { return StencilTiling(context, 1); }
}  // namespace optiling

namespace ge {
static ge::graphStatus ForwardInferShape(gert::InferShapeContext* context) {
  *context->GetOutputShape(0) = *context->GetInputShape(0);
  return GRAPH_SUCCESS;
}
static ge::graphStatus GradInferShape(gert::InferShapeContext* context) {
  *context->GetOutputShape(0) = *context->GetInputShape(1);
  *context->GetOutputShape(1) = *context->GetInputShape(1);
  return GRAPH_SUCCESS;
}
static ge::graphStatus ForwardInferDataType(gert::InferDataTypeContext* context) {
  context->SetOutputDataType(0, context->GetInputDataType(0));
  return GRAPH_SUCCESS;
}
static ge::graphStatus GradInferDataType(gert::InferDataTypeContext* context) {
  context->SetOutputDataType(0, context->GetInputDataType(1));
  context->SetOutputDataType(1, context->GetInputDataType(1));
  return GRAPH_SUCCESS;
}
}  // namespace ge

namespace ops {
static const std::vector<ge::DataType> kTypes = {ge::DT_FLOAT16, ge::DT_FLOAT, ge::DT_BF16};
static const std::vector<ge::Format> kFormats = {ge::FORMAT_ND, ge::FORMAT_ND, ge::FORMAT_ND};

class FPDiffusionStencil : public OpDef {
 public:
  explicit FPDiffusionStencil(const char* name) : OpDef(name) {
    this->Input("rho").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("nu").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("out").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Attr("dt").AttrType(OPTIONAL).Float(1.0f);
    this->Attr("cfl").AttrType(OPTIONAL).Bool(false);
    this->SetInferShape(ge::ForwardInferShape).SetInferDataType(ge::ForwardInferDataType);
    this->AICore().SetTiling(optiling::ForwardTiling);
    this->AICore().AddConfig("ascend910b");
  }
};

class FPDiffusionStencilGrad : public OpDef {
 public:
  explicit FPDiffusionStencilGrad(const char* name) : OpDef(name) {
    this->Input("dout").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("rho").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Input("nu").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("drho").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Output("dnu").ParamType(REQUIRED).DataType(kTypes).Format(kFormats);
    this->Attr("dt").AttrType(OPTIONAL).Float(1.0f);
    this->Attr("cfl").AttrType(OPTIONAL).Bool(false);
    this->SetInferShape(ge::GradInferShape).SetInferDataType(ge::GradInferDataType);
    this->AICore().SetTiling(optiling::GradTiling);
    this->AICore().AddConfig("ascend910b");
  }
};

OP_ADD(FPDiffusionStencil);
OP_ADD(FPDiffusionStencilGrad);
}  // namespace ops
