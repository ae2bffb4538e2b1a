"""Rule packs, the engine and the golden cases."""
