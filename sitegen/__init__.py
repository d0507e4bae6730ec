"""The site generator: content/ and the stored experiment results -> site/.

    build.py          the linear build: stamp -> read -> plan -> run -> render -> write -> publish
    read/             what the author wrote, as data (chapters, the talk, notebooks, references.bib)
    plan.py           which experiments are needed and which are stale
    run.py            the stale ones, run (or refused by --frozen)
    render/           chapters, figures, references, media and the page, as files in memory
    write.py          those files into a staging folder
    publish.py        the staging folder swapped in for site/, one build at a time
    stamp.py          the no-op check: nothing changed since the last build
    serve.py          the live preview; check.py: links, HTML and accessibility of site/

Shared by all: model.py (the types phases hand each other), errors.py (the
author's one error type), cache.py (every build cache), project.py (where things
live), pandoc.py, sandbox.py (author Jinja), frontmatter.py (author YAML) and
modules.py (the project's own experiment and plot modules, searched for one build
at a time). Imports point one way, from the build down to these.
"""
