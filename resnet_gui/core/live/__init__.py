"""Pictures as they arrive: a watched folder (and a camera), classified live."""
