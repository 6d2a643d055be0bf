"""The README: markdown, anchors, templates."""
