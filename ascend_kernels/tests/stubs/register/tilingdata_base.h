// Host-compiler stand-in for CANN 8.1.RC1 register/tilingdata_base.h: the four macros op_host/ uses,
// with the 8.1 member names (set_<field>, SaveToBuffer, GetDataSize). Fields are laid out in order
// like the generated kernel struct (#pragma pack(1)); SaveToBuffer copies them into the context.
#ifndef AAM_STUB_TILINGDATA_BASE_H
#define AAM_STUB_TILINGDATA_BASE_H
#include <cstddef>
#include <cstdint>
#include <cstring>
#define BEGIN_TILING_DATA_DEF(class_name)                                       \
  _Pragma("pack(push, 1)") class class_name {                                  \
   public:                                                                      \
    void SaveToBuffer(void* pdata, size_t capacity) {                           \
      if (sizeof(*this) <= capacity) std::memcpy(pdata, this, sizeof(*this));   \
    }                                                                           \
    size_t GetDataSize() const { return sizeof(*this); }
#define TILING_DATA_FIELD_DEF(data_type, field_name) \
  data_type field_name{};                            \
  void set_##field_name(data_type field_name##_) { field_name = field_name##_; }
#define END_TILING_DATA_DEF \
  };                        \
  _Pragma("pack(pop)")
#define REGISTER_TILING_DATA_CLASS(op_type, class_name) \
  static_assert(sizeof(class_name) > 0, #op_type);
#endif
