// Host-compiler stand-in for CANN 8.1.RC1 register/op_def_registry.h (with the graph and exe_graph
// types it brings in), for tests/test_ascend_static.py and tests/ascend/. It declares exactly what
// op_host/ uses, with the 8.1.RC1 signatures (register/op_def.h, exe_graph/runtime/*.h,
// graph/ge_error_codes.h, graph/types.h). Bodies are minimal: contexts hold plain vectors that a
// test fills through aam_stub::HostAccess (not CANN API), and OP_ADD registers each OpDef's tiling
// function by op type in aam_stub::OpRegistry().
#ifndef AAM_STUB_OP_DEF_REGISTRY_H
#define AAM_STUB_OP_DEF_REGISTRY_H
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fe {
class PlatFormInfos;
}
namespace aam_stub {
struct HostAccess;
}

namespace ge {
using graphStatus = uint32_t;
const graphStatus GRAPH_SUCCESS = 0;
const graphStatus GRAPH_FAILED = 0xFFFFFFFF;
enum DataType { DT_FLOAT = 0, DT_FLOAT16 = 1, DT_BF16 = 27 };
enum Format { FORMAT_ND = 2 };
}  // namespace ge

namespace gert {
class Shape {
 public:
  size_t GetDimNum() const { return dims_.size(); }
  int64_t GetDim(const size_t idx) const { return idx < dims_.size() ? dims_[idx] : 0; }
  void SetDimNum(const size_t dim_num) { dims_.resize(dim_num); }
  void SetDim(size_t idx, const int64_t dim_value) {
    if (idx < dims_.size()) dims_[idx] = dim_value;
  }

 private:
  friend struct aam_stub::HostAccess;
  std::vector<int64_t> dims_;
};
class StorageShape {
 public:
  const Shape& GetOriginShape() const { return shape_; }
  const Shape& GetStorageShape() const { return shape_; }

 private:
  friend struct aam_stub::HostAccess;
  Shape shape_;
};
class CompileTimeTensorDesc {
 public:
  ge::DataType GetDataType() const { return dtype_; }

 private:
  friend struct aam_stub::HostAccess;
  ge::DataType dtype_ = ge::DT_FLOAT;
};
class RuntimeAttrs {
 public:
  template <typename T> const T* GetAttrPointer(size_t index) const {
    return index < attrs_.size() ? reinterpret_cast<const T*>(attrs_[index].data()) : nullptr;
  }

 private:
  friend struct aam_stub::HostAccess;
  std::vector<std::vector<uint8_t>> attrs_;
};
class TilingData {
 public:
  size_t GetCapacity() const { return data_.size(); }
  void SetDataSize(const size_t size) { size_ = size; }
  void* GetData() { return data_.data(); }

 private:
  friend struct aam_stub::HostAccess;
  std::vector<uint8_t> data_ = std::vector<uint8_t>(2048);
  size_t size_ = 0;
};
class TilingContext {
 public:
  const StorageShape* GetInputShape(const size_t index) const { return index < in_.size() ? &in_[index] : nullptr; }
  const CompileTimeTensorDesc* GetInputDesc(const size_t index) const {
    return index < desc_.size() ? &desc_[index] : nullptr;
  }
  const RuntimeAttrs* GetAttrs() const { return &attrs_; }
  fe::PlatFormInfos* GetPlatformInfo() const { return platform_; }
  ge::graphStatus SetBlockDim(const uint32_t block_dim) {
    blockDim_ = block_dim;
    return ge::GRAPH_SUCCESS;
  }
  TilingData* GetRawTilingData() { return &tiling_; }
  size_t* GetWorkspaceSizes(const size_t workspace_count) {
    workspace_.resize(workspace_count);
    return workspace_.data();
  }

 private:
  friend struct aam_stub::HostAccess;
  std::vector<StorageShape> in_;
  std::vector<CompileTimeTensorDesc> desc_;
  RuntimeAttrs attrs_;
  fe::PlatFormInfos* platform_ = nullptr;
  uint32_t blockDim_ = 0;
  TilingData tiling_;
  std::vector<size_t> workspace_;
};
class InferShapeContext {
 public:
  const Shape* GetInputShape(const size_t index) const { return index < in_.size() ? &in_[index] : nullptr; }
  Shape* GetOutputShape(const size_t index) { return index < out_.size() ? &out_[index] : nullptr; }
  const RuntimeAttrs* GetAttrs() const { return &attrs_; }

 private:
  friend struct aam_stub::HostAccess;
  std::vector<Shape> in_, out_;
  RuntimeAttrs attrs_;
};
class InferDataTypeContext {
 public:
  ge::DataType GetInputDataType(const size_t index) const { return index < in_.size() ? in_[index] : ge::DT_FLOAT; }
  ge::graphStatus SetOutputDataType(const size_t index, const ge::DataType datatype) {
    if (index >= out_.size()) out_.resize(index + 1);
    out_[index] = datatype;
    return ge::GRAPH_SUCCESS;
  }

 private:
  friend struct aam_stub::HostAccess;
  std::vector<ge::DataType> in_, out_;
};
struct OpImplRegisterV2 {
  using InferShapeKernelFunc = uint32_t (*)(InferShapeContext*);
  using TilingKernelFunc = uint32_t (*)(TilingContext*);
  using InferDataTypeKernelFunc = uint32_t (*)(InferDataTypeContext*);
};
}  // namespace gert

namespace aam_stub {
// op type -> the tiling function its OpDef registers with AICore().SetTiling
inline std::map<std::string, gert::OpImplRegisterV2::TilingKernelFunc>& OpRegistry() {
  static std::map<std::string, gert::OpImplRegisterV2::TilingKernelFunc> r;
  return r;
}
}  // namespace aam_stub

namespace ops {
enum Option { IGNORE = 0, OPTIONAL = 1, REQUIRED = 2, DYNAMIC = 3, VIRTUAL = 4 };
class OpParamDef {
 public:
  OpParamDef& ParamType(Option param_type) { return (void)param_type, *this; }
  OpParamDef& DataType(std::vector<ge::DataType> types) { return (void)types, *this; }
  OpParamDef& Format(std::vector<ge::Format> formats) { return (void)formats, *this; }
};
class OpAttrDef {
 public:
  OpAttrDef& AttrType(Option attr_type) { return (void)attr_type, *this; }
  OpAttrDef& Bool(bool value) { return (void)value, *this; }
  OpAttrDef& Float(float value) { return (void)value, *this; }
  OpAttrDef& Int(int64_t value) { return (void)value, *this; }
};
class OpAICoreDef {
 public:
  OpAICoreDef& SetTiling(gert::OpImplRegisterV2::TilingKernelFunc func) {
    aam_stub::OpRegistry()[type_] = func;
    return *this;
  }
  OpAICoreDef& AddConfig(const char* soc) { return (void)soc, *this; }

 private:
  friend class OpDef;
  std::string type_;
};
class OpDef {
 public:
  explicit OpDef(const char* type) { aicore_.type_ = type; }
  OpParamDef& Input(const char* name) { return (void)name, param_; }
  OpParamDef& Output(const char* name) { return (void)name, param_; }
  OpAttrDef& Attr(const char* name) { return (void)name, attr_; }
  OpDef& SetInferShape(gert::OpImplRegisterV2::InferShapeKernelFunc func) { return (void)func, *this; }
  OpDef& SetInferDataType(gert::OpImplRegisterV2::InferDataTypeKernelFunc func) { return (void)func, *this; }
  OpAICoreDef& AICore(void) { return aicore_; }

 private:
  OpParamDef param_;
  OpAttrDef attr_;
  OpAICoreDef aicore_;
};
}  // namespace ops

#define OP_ADD(opType, ...) static ops::opType g_aam_stub_op_##opType(#opType)
#endif
