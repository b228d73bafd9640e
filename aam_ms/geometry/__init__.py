"""Hyperbolic geometry (Lorentz model) used by AAM's encoders, decoder and losses."""
from .lorentz import (  # noqa: F401
    clamp_alpha, clamp_log_curv, dist_to_origin, encode, exp_map0, half_aperture, inner,
    log_map0, norm, oxy_angle, paired_dist, pairwise_dist, pairwise_inner, time_component,
)
