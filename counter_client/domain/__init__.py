"""Pure rules and value types. Imports nothing else of ours and nothing of Qt."""
