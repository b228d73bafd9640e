// Host side of FPDiffusionStencil and FPDiffusionStencilGrad: tiling, shape/dtype inference, OpDef.
#include <algorithm>
#include <cstdint>
#include "fp_diffusion_stencil_tiling.h"
#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

namespace optiling {
// UB kept free for the scratch that Select and Duplicate use at TMP_UB_OFFSET (184 KB on dav-c220).
constexpr uint64_t FPD_UB_RESERVED = 8 * 1024;
constexpr uint32_t FPD_ALIGN = 64;  // tile lengths are whole 256-byte fp32 repeats

static uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// UB bytes the kernel's InitBuffer calls request for a tile of tileLen elements of `bytesT` bytes
// (op_kernel/fp_diffusion_stencil*.cpp, Init): double-buffered I/O queues plus fp32 scratch.
static uint64_t StencilUbBytes(uint64_t tileLen, uint64_t bytesT, bool grad) {
  if (!grad) {  // 4 in + 1 out queues, mask, 4 fp32 windows
    return 2 * 5 * tileLen * bytesT + tileLen * 4 + 4 * tileLen * 4;
  }
  // 9 in windows, 2 out windows, 3 masks, 9 fp32 windows, compare bits
  return 2 * 9 * tileLen * bytesT + 2 * 2 * tileLen * bytesT + 3 * tileLen * 4 + 9 * tileLen * 4 +
         AlignUp(tileLen / 8, 32);
}

// Largest tile length (a multiple of FPD_ALIGN) whose buffers fit in budget bytes; 0 if none.
static uint64_t StencilMaxTileLen(uint64_t budget, uint64_t bytesT, bool grad) {
  uint64_t len = budget / StencilUbBytes(1, bytesT, grad) / FPD_ALIGN * FPD_ALIGN;
  while (len > 0 && StencilUbBytes(len, bytesT, grad) > budget) {
    len -= FPD_ALIGN;
  }
  return len;
}

static uint64_t DtypeBytes(ge::DataType dtype) { return dtype == ge::DT_FLOAT ? 4 : 2; }

// rhoIndex: input holding rho (0 forward, 1 backward, whose input 0 is dout).
static ge::graphStatus StencilTiling(gert::TilingContext* context, size_t rhoIndex, bool grad) {
  const gert::Shape& shape = context->GetInputShape(rhoIndex)->GetStorageShape();
  if (shape.GetDimNum() != 2 || shape.GetDim(0) <= 0 || shape.GetDim(1) <= 0) {
    return ge::GRAPH_FAILED;
  }
  auto platform = platform_ascendc::PlatformAscendC(context->GetPlatformInfo());
  uint64_t ubSize = 0;
  platform.GetCoreMemSize(platform_ascendc::CoreMemType::UB, ubSize);
  if (ubSize <= FPD_UB_RESERVED) {
    return ge::GRAPH_FAILED;
  }
  const uint64_t bytesT = DtypeBytes(context->GetInputDesc(rhoIndex)->GetDataType());
  const uint64_t maxTileLen = StencilMaxTileLen(ubSize - FPD_UB_RESERVED, bytesT, grad);
  const uint64_t rows = static_cast<uint64_t>(shape.GetDim(0));
  const uint64_t frames = static_cast<uint64_t>(shape.GetDim(1));
  if (frames > maxTileLen || rows * frames > UINT32_MAX) {  // a tile holds at least one whole row
    return ge::GRAPH_FAILED;
  }
  const gert::RuntimeAttrs* attrs = context->GetAttrs();
  const float dt = *attrs->GetAttrPointer<float>(0);
  const bool cfl = *attrs->GetAttrPointer<bool>(1);

  const uint32_t coreNum = platform.GetCoreNumAiv();
  const uint64_t rowsPerTile = maxTileLen / frames;
  const uint64_t tiles = (rows + rowsPerTile - 1) / rowsPerTile;
  const uint64_t blocks = std::max<uint64_t>(1, std::min<uint64_t>(coreNum, tiles));
  const uint64_t tilesPerBlock = (tiles + blocks - 1) / blocks;
  const uint64_t blockDim = (tiles + tilesPerBlock - 1) / tilesPerBlock;

  FPDiffusionStencilTilingData tiling;
  tiling.set_rows(static_cast<uint32_t>(rows));
  tiling.set_frames(static_cast<uint32_t>(frames));
  tiling.set_rowsPerTile(static_cast<uint32_t>(rowsPerTile));
  tiling.set_tiles(static_cast<uint32_t>(tiles));
  tiling.set_tilesPerBlock(static_cast<uint32_t>(tilesPerBlock));
  tiling.set_tileLen(static_cast<uint32_t>(AlignUp(rowsPerTile * frames, FPD_ALIGN)));
  tiling.set_dt(dt);
  tiling.set_cfl(cfl ? 1U : 0U);
  context->SetBlockDim(static_cast<uint32_t>(blockDim));
  tiling.SaveToBuffer(context->GetRawTilingData()->GetData(), context->GetRawTilingData()->GetCapacity());
  context->GetRawTilingData()->SetDataSize(tiling.GetDataSize());
  size_t* workspace = context->GetWorkspaceSizes(1);
  workspace[0] = platform.GetLibApiWorkSpaceSize();
  return ge::GRAPH_SUCCESS;
}

static ge::graphStatus ForwardTiling(gert::TilingContext* context) { return StencilTiling(context, 0, false); }
static ge::graphStatus GradTiling(gert::TilingContext* context) { return StencilTiling(context, 1, true); }
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
