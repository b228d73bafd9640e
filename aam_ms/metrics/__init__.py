"""Evaluation metrics (MIT benchmark forms) and dataset protocols, numpy/scipy only."""
from .mit import (  # noqa: F401
    LEDOV_KLD_EPS, MATLAB_EPS, auc_borji, auc_judd, auc_shuffled, cc, info_gain, kld, nss, sim,
)
from .resize import imresize  # noqa: F401
from .protocols import (  # noqa: F401
    evaluate_samples, image_protocol, per_video_scores, stavis_protocol, video_protocol,
)
