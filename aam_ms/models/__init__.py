"""Networks: DINOv3 backbone, projections, FPD, fusion, hyperbolic decoder, the full AAM cell."""
