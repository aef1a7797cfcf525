"""Timeline sources retroflow ships: the file source (JSON Lines events, incident metadata)."""
