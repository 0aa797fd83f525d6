"""symbiosis."""
