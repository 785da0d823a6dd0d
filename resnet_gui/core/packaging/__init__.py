"""Carrying a model elsewhere: ONNX, TorchScript, bioimage.io packages and model cards."""
