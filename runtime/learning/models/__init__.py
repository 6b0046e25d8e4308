"""Model sources: tiny random encoders for tests, the packaged multilingual-e5-small, and hub ids.

Heavy imports (torch, transformers) happen inside the submodules, so importing this package is cheap.
"""
