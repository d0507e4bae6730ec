"""The render phase: chapters, figures, references, the talk and the notebooks,
and the page that holds them, as data: {site path: bytes, or a file to copy}.

    results, numbers    what a chapter's result()/value()/figure() calls give
    chapters            Jinja (the sandbox) then pandoc, cached per chapter
    figures, drawing    plot figures, drawn in forked workers, cached per figure
    images              the author's own images and the diagrams of the models
    references          the reference list (citeproc)
    assemble            numbers, cross-references and citations across chapters
    page_notes          footnotes, margin notes, the table of contents
    page_meta           citation text, BibTeX, dates, the preview card
    templates, page     the page templates, and every file of the site
    deck, video         the talk: reveal.js sections, Typst frames, MP4/WebM
    notebooks           the companion notebooks, executed and rendered

Nothing here writes a file but through sitegen.cache; the video and notebook
steps import nothing from the plan or run phases.
"""
