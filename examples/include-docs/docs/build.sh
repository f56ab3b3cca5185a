#!/bin/sh
# build.sh SRC DEST: a tiny stand-in for `mkdocs build`: turns each Markdown
# file of SRC into an HTML page in DEST (headings, paragraphs, inline code).
set -e
src=$1 dest=$2
mkdir -p "$dest"
for md in "$src"/*.md; do
	page="$dest/$(basename "$md" .md).html"
	{
		echo '<!doctype html><html><body>'
		sed -e 's#`\([^`]*\)`#<code>\1</code>#g' \
			-e 's#^\#\# \(.*\)#<h2>\1</h2>#' \
			-e 's#^\# \(.*\)#<h1>\1</h1>#' \
			-e 's#^\([^<].*\)#<p>\1</p>#' "$md"
		echo '</body></html>'
	} >"$page"
	echo "built $page"
done
