"""Where models run: devices and their settings, several processes, and memory."""
