"""The Model tab and the model bar above every tab."""
