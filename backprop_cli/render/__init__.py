"""Views of a report. Each is a pure function of the trace; none recomputes math."""
