"""One screen per file. Top-level sections are registered in `foureyes.tui.navigation`."""
