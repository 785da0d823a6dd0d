"""The map of pictures placed by what a model sees in them: its window, and the drawn selection."""
