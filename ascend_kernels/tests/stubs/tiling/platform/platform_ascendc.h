// Host-compiler stand-in for CANN 8.1.RC1 tiling/platform/platform_ascendc.h: the PlatformAscendC
// members op_host/ uses, with their 8.1 signatures. fe::PlatFormInfos here is a plain struct of
// the values a test sets (910B: 48 vector cores, 192 KB UB); it is opaque in CANN.
#ifndef AAM_STUB_PLATFORM_ASCENDC_H
#define AAM_STUB_PLATFORM_ASCENDC_H
#include <cstdint>
namespace platform_ascendc {
class PlatformAscendC;
}
namespace aam_stub {
struct HostAccess;
}
namespace fe {
class PlatFormInfos {
 private:
  friend struct aam_stub::HostAccess;
  friend class platform_ascendc::PlatformAscendC;
  uint32_t aivCores = 48;
  uint64_t ubBytes = 192 * 1024;
};
}  // namespace fe
namespace platform_ascendc {
enum class CoreMemType { L0_A = 0, L0_B = 1, L0_C = 2, L1 = 3, L2 = 4, UB = 5, HBM = 6, RESERVED };
class PlatformAscendC {
 public:
  PlatformAscendC() = delete;
  ~PlatformAscendC() = default;
  explicit PlatformAscendC(fe::PlatFormInfos* platformInfo) : platformInfo_(platformInfo) {}
  uint32_t GetCoreNumAiv(void) const { return platformInfo_ ? platformInfo_->aivCores : 1; }
  uint32_t GetLibApiWorkSpaceSize(void) const { return 16u * 1024u * 1024u; }
  void GetCoreMemSize(const CoreMemType& memType, uint64_t& size) const {
    size = memType == CoreMemType::UB && platformInfo_ ? platformInfo_->ubBytes : 0;
  }

 private:
  fe::PlatFormInfos* platformInfo_;
};
}  // namespace platform_ascendc
#endif
