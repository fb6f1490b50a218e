"""Real-tool validation: every rendered file is checked by the program that will read it."""
