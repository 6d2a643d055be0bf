"""Everything that talks HTTP."""
