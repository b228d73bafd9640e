// Minimal stand-in for CANN's register/op_def_registry.h (syntax check only).
#ifndef AAM_STUB_OP_DEF_REGISTRY_H
#define AAM_STUB_OP_DEF_REGISTRY_H
#include <cstddef>
#include <cstdint>
#include <vector>
namespace ge {
using graphStatus = uint32_t;
constexpr graphStatus GRAPH_SUCCESS = 0;
constexpr graphStatus GRAPH_FAILED = 1;
enum DataType { DT_FLOAT, DT_FLOAT16, DT_BF16 };
enum Format { FORMAT_ND };
}  // namespace ge
namespace gert {
class Shape {
 public:
  size_t GetDimNum() const;
  int64_t GetDim(size_t) const;
  void SetDimNum(size_t);
  void SetDim(size_t, int64_t);
};
class StorageShape {
 public:
  const Shape& GetStorageShape() const;
  const Shape& GetOriginShape() const;
};
class RuntimeAttrs {
 public:
  template <typename T> const T* GetAttrPointer(size_t) const;
};
class TilingData {
 public:
  void* GetData();
  size_t GetCapacity() const;
  void SetDataSize(size_t);
};
class TilingContext {
 public:
  const StorageShape* GetInputShape(size_t) const;
  const RuntimeAttrs* GetAttrs() const;
  const void* GetPlatformInfo() const;
  void SetBlockDim(uint32_t);
  TilingData* GetRawTilingData();
  size_t* GetWorkspaceSizes(size_t);
};
class InferShapeContext {
 public:
  const Shape* GetInputShape(size_t) const;
  Shape* GetOutputShape(size_t);
  const RuntimeAttrs* GetAttrs() const;
};
class InferDataTypeContext {
 public:
  ge::DataType GetInputDataType(size_t) const;
  void SetOutputDataType(size_t, ge::DataType);
};
}  // namespace gert
namespace ops {
enum ParamTypeValue { REQUIRED, OPTIONAL };
class OpParamDef {
 public:
  OpParamDef& ParamType(ParamTypeValue);
  OpParamDef& DataType(const std::vector<ge::DataType>&);
  OpParamDef& Format(const std::vector<ge::Format>&);
};
class OpAttrDef {
 public:
  OpAttrDef& AttrType(ParamTypeValue);
  OpAttrDef& Float(float);
  OpAttrDef& Int(int64_t);
  OpAttrDef& Bool(bool);
};
class OpAICoreDef {
 public:
  OpAICoreDef& SetTiling(ge::graphStatus (*)(gert::TilingContext*));
  OpAICoreDef& AddConfig(const char*);
};
class OpDef {
 public:
  explicit OpDef(const char*) {}
  OpParamDef& Input(const char*);
  OpParamDef& Output(const char*);
  OpAttrDef& Attr(const char*);
  OpDef& SetInferShape(ge::graphStatus (*)(gert::InferShapeContext*));
  OpDef& SetInferDataType(ge::graphStatus (*)(gert::InferDataTypeContext*));
  OpAICoreDef& AICore();
};
}  // namespace ops
#define OP_ADD(name) static ops::name g_op_##name(#name)
#endif
