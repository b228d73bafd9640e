// Minimal stand-in for CANN's tiling/platform/platform_ascendc.h (syntax check only).
#ifndef AAM_STUB_PLATFORM_ASCENDC_H
#define AAM_STUB_PLATFORM_ASCENDC_H
#include <cstdint>
namespace platform_ascendc {
class PlatformAscendC {
 public:
  explicit PlatformAscendC(const void*) {}
  uint32_t GetCoreNumAiv() const;
  uint32_t GetLibApiWorkSpaceSize() const;
};
}  // namespace platform_ascendc
#endif
