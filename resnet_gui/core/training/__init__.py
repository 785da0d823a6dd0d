"""Fine-tuning a ResNet: settings, the trainer, its events, schedules and checkpoints."""
