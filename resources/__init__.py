"""partita.resources: data files, no code: the application icon (partita.svg) and the
freedesktop entry (partita.desktop). A package so that an install (pip, editable or not) and the
desktop bundle carry them where importlib.resources finds them; the screenshots stay out."""
