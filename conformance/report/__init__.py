"""Reports of a conformance run: JSON, HTML, Markdown, badges (filled in by issue 8)."""
