"""Attention-1.75M data layer: manifests, dataset readers, prompts, MindRecord, pipelines,
and the SynthAttention benchmark corpus."""
