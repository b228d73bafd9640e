// Tiling of LorentzDistance / LorentzDistanceGrad: x (N, D) rows split over AI cores; each row is
// held in UB in fp32 and the partner rows are streamed through UB in d-chunks of `chunk` elements
// (chunk from the UB budget in op_host/lorentz_distance.cpp). 8 fields of 4 bytes: the struct is a
// whole number of 8-byte words.
#ifndef LORENTZ_DISTANCE_TILING_H
#define LORENTZ_DISTANCE_TILING_H
#include "register/tilingdata_base.h"

constexpr uint32_t LD_TILE_M = 64;       // distances per output tile
constexpr uint32_t LD_REDUCE_LANES = 8;  // partial sums of a dot product in the CPU twin

namespace optiling {
// n, m = rows of x, y; d = space dimension; tileM = distances per output tile; rowsPerBlock = x rows
// per core; mode = 0 pairwise, 1 paired, 2 to-origin; chunk = d-chunk length (a multiple of 64).
BEGIN_TILING_DATA_DEF(LorentzDistanceTilingData)
  TILING_DATA_FIELD_DEF(uint32_t, n);
  TILING_DATA_FIELD_DEF(uint32_t, m);
  TILING_DATA_FIELD_DEF(uint32_t, d);
  TILING_DATA_FIELD_DEF(uint32_t, tileM);
  TILING_DATA_FIELD_DEF(uint32_t, rowsPerBlock);
  TILING_DATA_FIELD_DEF(uint32_t, mode);
  TILING_DATA_FIELD_DEF(uint32_t, chunk);
  TILING_DATA_FIELD_DEF(float, eps);
END_TILING_DATA_DEF;

REGISTER_TILING_DATA_CLASS(LorentzDistance, LorentzDistanceTilingData)
REGISTER_TILING_DATA_CLASS(LorentzDistanceGrad, LorentzDistanceTilingData)
}  // namespace optiling
#endif  // LORENTZ_DISTANCE_TILING_H
