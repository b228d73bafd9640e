// Tiling of FPDiffusionStencil / FPDiffusionStencilGrad: rho, nu (L, T), T contiguous.
// A UB tile holds whole rows (rowsPerTile of them, tileLen >= rowsPerTile * T elements per buffer);
// tileLen comes from the UB budget (op_host/fp_diffusion_stencil.cpp), tiles are split over AI
// cores in contiguous ranges. 8 fields of 4 bytes: the struct is a whole number of 8-byte words.
#ifndef FP_DIFFUSION_STENCIL_TILING_H
#define FP_DIFFUSION_STENCIL_TILING_H
#include "register/tilingdata_base.h"

constexpr float FPD_CFL_MAX = 0.5f;  // CFL bound on dt * nu

namespace optiling {
// rows = L, frames = T, tiles = ceil(L / rowsPerTile), tilesPerBlock = contiguous tiles per core,
// tileLen = elements per UB tile buffer (a multiple of 64), cfl = 0 or 1.
BEGIN_TILING_DATA_DEF(FPDiffusionStencilTilingData)
  TILING_DATA_FIELD_DEF(uint32_t, rows);
  TILING_DATA_FIELD_DEF(uint32_t, frames);
  TILING_DATA_FIELD_DEF(uint32_t, rowsPerTile);
  TILING_DATA_FIELD_DEF(uint32_t, tiles);
  TILING_DATA_FIELD_DEF(uint32_t, tilesPerBlock);
  TILING_DATA_FIELD_DEF(uint32_t, tileLen);
  TILING_DATA_FIELD_DEF(float, dt);
  TILING_DATA_FIELD_DEF(uint32_t, cfl);
END_TILING_DATA_DEF;

REGISTER_TILING_DATA_CLASS(FPDiffusionStencil, FPDiffusionStencilTilingData)
REGISTER_TILING_DATA_CLASS(FPDiffusionStencilGrad, FPDiffusionStencilTilingData)
}  // namespace optiling
#endif  // FP_DIFFUSION_STENCIL_TILING_H
