"""Robustness: model-agnostic perturbations and model-aware attacks."""
