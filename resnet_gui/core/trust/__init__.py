"""When to trust an answer: calibrated confidence, pictures unlike the training set, golden samples."""
