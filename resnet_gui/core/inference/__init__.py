"""Classifying pictures with a loaded model: the predictor, its answers, CSVs of them, Grad-CAM."""
