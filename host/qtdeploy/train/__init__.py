"""Training: everything that needs torch (the ``train`` extra), and nothing the board path imports.

``quant``/``net`` are the PyTorch forecaster with fake quantisation; ``qat`` fits it; ``export``
turns it into a :class:`~qtdeploy.model.intmodel.IntModel`; ``intsim`` is the integer semantics in
torch (the QAT model's integer eval path); ``runs`` ties a run directory to export and golden vectors.
Why a package of its own: a field gateway installs the base package without torch, and flash,
forecast, eval and energy must import without it (tests/host/test_layers.py keeps that true).
"""
