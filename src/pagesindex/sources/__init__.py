"""Where distribution files come from: GitHub releases, source builds at a tag, renamed wheels.

Each source returns files to ingest (``pagesindex.inspect.InspectedFile`` objects in a temporary
folder); none of them writes the state. Ingestion goes through
:meth:`pagesindex.state.Index.add_files`, exactly as ``pagesindex add`` does.
"""
