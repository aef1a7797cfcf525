"""Contributing-condition heuristics retroflow ships (technical, human, process), the factor
keys they use (:mod:`.keys`), the timeline index they share (:mod:`.facts`) and how their
proposers declare the action that answers each factor (:mod:`.proposers`). In each plugin
module every heuristic is followed by the proposer of the action that answers its factor."""
