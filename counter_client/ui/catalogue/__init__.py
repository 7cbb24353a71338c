"""The catalogue page (事项指南): search as you type, filters, results, the guide."""
