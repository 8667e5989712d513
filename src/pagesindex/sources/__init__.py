"""Where distribution files come from.

Each source returns files to ingest (``pagesindex.inspect.InspectedFile`` objects); none of them
writes the state itself. Ingestion goes through :meth:`pagesindex.state.Index.add_files`, exactly
as ``pagesindex add`` does.
"""
