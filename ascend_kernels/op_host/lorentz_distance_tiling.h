// Tiling of LorentzDistance / LorentzDistanceGrad: x (N, D) rows split over AI cores, y streamed
// through UB in tiles of tileM rows. The CPU twin (cpu/lorentz_distance_cpu.cc) uses the same constants.
#ifndef LORENTZ_DISTANCE_TILING_H
#define LORENTZ_DISTANCE_TILING_H
#include "register/tilingdata_base.h"

constexpr uint32_t LD_TILE_M = 64;        // y rows per UB tile
constexpr uint32_t LD_TILE_ELEMS = 8192;  // floats per y tile buffer (tileM * D <= this)
constexpr uint32_t LD_REDUCE_LANES = 8;   // partial sums of a dot product (one 32-byte vector)

namespace optiling {
BEGIN_TILING_DATA_DEF(LorentzDistanceTilingData)
  TILING_DATA_FIELD_DEF(uint32_t, n);             // rows of x
  TILING_DATA_FIELD_DEF(uint32_t, m);             // rows of y
  TILING_DATA_FIELD_DEF(uint32_t, d);             // space dimension
  TILING_DATA_FIELD_DEF(uint32_t, tileM);         // y rows per tile
  TILING_DATA_FIELD_DEF(uint32_t, rowsPerBlock);  // x rows per core
  TILING_DATA_FIELD_DEF(uint32_t, mode);          // 0 pairwise, 1 paired, 2 to-origin
  TILING_DATA_FIELD_DEF(float, eps);
END_TILING_DATA_DEF;

REGISTER_TILING_DATA_CLASS(LorentzDistance, LorentzDistanceTilingData)
REGISTER_TILING_DATA_CLASS(LorentzDistanceGrad, LorentzDistanceTilingData)
}  // namespace optiling
#endif  // LORENTZ_DISTANCE_TILING_H
