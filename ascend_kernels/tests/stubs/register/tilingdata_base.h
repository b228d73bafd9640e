// Minimal stand-in for CANN's register/tilingdata_base.h (syntax check only): each field gets a
// member and a set_<name>() setter, as the real macros generate.
#ifndef AAM_STUB_TILINGDATA_BASE_H
#define AAM_STUB_TILINGDATA_BASE_H
#include <cstddef>
#include <cstdint>
#define BEGIN_TILING_DATA_DEF(name) \
  struct name {                     \
    void SaveToBuffer(void*, size_t) const {} \
    size_t GetDataSize() const { return sizeof(*this); }
#define TILING_DATA_FIELD_DEF(type, field) \
  type field{};                            \
  void set_##field(type v) { field = v; }
#define END_TILING_DATA_DEF }
#define REGISTER_TILING_DATA_CLASS(op, cls) static_assert(sizeof(cls) > 0, #op);
#endif
