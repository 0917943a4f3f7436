"""Adding documents to and removing them from a library, with its index kept in step."""
