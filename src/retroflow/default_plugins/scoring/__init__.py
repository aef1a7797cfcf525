"""Scoring models retroflow ships (impact-math, RICE, WSJF) and the inputs they share."""
