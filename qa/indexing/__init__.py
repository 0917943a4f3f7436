"""Documents into an index: chunks and sentence units, embedded and written through a store."""
