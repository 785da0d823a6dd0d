"""Projects: pictures, labels and runs in SQLite, their training, splitting and sorting."""
