import DartsEngine

/// The terminal dashboard (ncurses) that watches a running search.
/// Built on top of the engine's metrics store and control queue.
public enum Dashboard {}
