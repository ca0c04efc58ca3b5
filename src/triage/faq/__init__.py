"""FAQ entries and the Korean-aware matcher that answers them."""
