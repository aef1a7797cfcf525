"""The document formats retroflow ships (renderers), and what they share."""
