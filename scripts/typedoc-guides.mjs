/**
 * TypeDoc plugin (typedoc.json `plugin`): every `## ` section of README.md that holds a code
 * block or a figure becomes a page of the API reference, under "Guides". The README stays the one source:
 * the pages are built from it on each `npm run docs`, with its path, so its relative links and
 * images (docs/*.png) resolve as they do on GitHub.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Converter, MinimalSourceFile } from 'typedoc';

/** The README's `## ` sections with a fenced code block or an image: [{ title, body }], in order. */
export function guideSections(markdown) {
  const parts = markdown.split(/^## /m).slice(1);
  return parts
    .map((part) => {
      const nl = part.indexOf('\n');
      return { title: part.slice(0, nl).trim(), body: part.slice(nl + 1).trim() };
    })
    .filter((s) => /^```/m.test(s.body) || /!\[[^\]]*\]\(/.test(s.body));
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_BEGIN, (context) => {
    const file = path.resolve('README.md');
    const sections = guideSections(readFileSync(file, 'utf8'));
    if (sections.length === 0) app.logger.error('typedoc-guides: README.md has no "## " section with a code block or figure to make a guide page of');
    sections.forEach(({ title, body }, k) => {
      const page = `---\ngroup: Guides\n---\n\n# ${title}\n\n${body}\n`;
      app.converter.addDocument(context.project, new MinimalSourceFile(page, file), `${k + 1}. ${title}`);
    });
  });
}
