"""Action review retroflow ships: checks every proposed action against the house rules."""
