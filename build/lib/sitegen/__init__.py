"""The site generator: Markdown chapters + results -> one static article."""
