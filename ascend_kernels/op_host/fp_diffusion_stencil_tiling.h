// Tiling of FPDiffusionStencil / FPDiffusionStencilGrad: rho, nu (L, T), T contiguous.
// A UB tile holds whole rows (FPD_TILE_LEN / T of them); tiles are split over AI cores in
// contiguous ranges. The CPU twin (cpu/fp_diffusion_stencil_cpu.cc) uses the same constants.
#ifndef FP_DIFFUSION_STENCIL_TILING_H
#define FP_DIFFUSION_STENCIL_TILING_H
#include "register/tilingdata_base.h"

constexpr uint32_t FPD_TILE_LEN = 8192;  // floats per UB tile (whole rows)
constexpr float FPD_CFL_MAX = 0.5f;      // CFL bound on dt * nu

namespace optiling {
BEGIN_TILING_DATA_DEF(FPDiffusionStencilTilingData)
  TILING_DATA_FIELD_DEF(uint32_t, rows);          // L
  TILING_DATA_FIELD_DEF(uint32_t, frames);        // T
  TILING_DATA_FIELD_DEF(uint32_t, rowsPerTile);   // FPD_TILE_LEN / T
  TILING_DATA_FIELD_DEF(uint32_t, tiles);         // ceil(L / rowsPerTile)
  TILING_DATA_FIELD_DEF(uint32_t, tilesPerBlock); // contiguous tiles per core
  TILING_DATA_FIELD_DEF(float, dt);
  TILING_DATA_FIELD_DEF(uint32_t, cfl);
END_TILING_DATA_DEF;

REGISTER_TILING_DATA_CLASS(FPDiffusionStencil, FPDiffusionStencilTilingData)
REGISTER_TILING_DATA_CLASS(FPDiffusionStencilGrad, FPDiffusionStencilTilingData)
}  // namespace optiling
#endif  // FP_DIFFUSION_STENCIL_TILING_H
