"""The integer-only quantized Transformer forecaster as the board runs it, in NumPy (no torch).

``config`` shapes and widths; ``intmodel`` the exported integer model and its blob; ``reference``
is the integer semantics of protocol/model.md; ``intmath`` its integer helpers and the host's input
quantisation; ``data`` the series and windows; ``evaluate`` scores a model against baselines;
``vectors`` the golden files. Training (torch) lives in :mod:`qtdeploy.train`.
"""
