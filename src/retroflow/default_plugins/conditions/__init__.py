"""Contributing-condition heuristics retroflow ships (technical, human, process), the factor
keys they use (:mod:`.keys`) and the timeline index they share (:mod:`.facts`)."""
