"""The hall manager's pages (see managers.pages)."""
