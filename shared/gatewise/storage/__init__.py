"""Where shared state lives: SQLite files (the embedded default) or one PostgreSQL database that
several gateway instances share. ``gatewise.storage.backends`` picks one from the settings."""
