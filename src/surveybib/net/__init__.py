"""The network layer: the only code in surveybib that talks HTTP."""
