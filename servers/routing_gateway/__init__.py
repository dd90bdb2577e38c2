"""routing-gateway: one call that picks the right model."""
