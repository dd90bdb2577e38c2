"""``gatewise serve``: the four servers in one HTTP process, with authentication and limits."""
