"""Where raw messages come from. Each source yields (raw bytes, SourceHints); none parses mail."""
