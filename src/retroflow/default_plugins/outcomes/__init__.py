"""The outcome metrics retroflow ships."""
