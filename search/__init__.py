"""The read path and shared core: settings, store, encoder, index, engine. No Flask here."""
