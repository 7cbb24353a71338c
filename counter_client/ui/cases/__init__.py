"""The case list (办件): filters, the table, the detail with its timeline, void and drafts."""
