"""Web search through OpenRouter: answers with structured, numbered citations."""
