"""Spreadsheets and request files: reading rows, the column layout, templates, and writing results back."""
