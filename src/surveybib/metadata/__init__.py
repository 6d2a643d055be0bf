"""The metadata store and the records fetched into it (Crossref, DataCite, ...)."""
