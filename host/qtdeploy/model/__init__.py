"""The integer-only quantized Transformer forecaster: QAT, integer export, the integer reference.

``config`` shapes and widths; ``net``/``quant`` the PyTorch model with fake quantisation;
``export`` turns it into an :class:`~qtdeploy.model.intmodel.IntModel`; ``reference`` is the
integer semantics of protocol/model.md in NumPy; ``intsim`` the same in torch (the QAT model's
integer eval path); ``data``/``train``/``evaluate`` the workflow; ``vectors`` the golden files.
"""
