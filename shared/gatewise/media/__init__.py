"""Images for vision models: local-file sandboxing and preparation before sending."""
