/**
 * SVG → PNG with @resvg/resvg-js (prebuilt, installed from npm alone). resvg draws text only
 * with fonts it loads; on a machine without any, every label would silently vanish, so the first
 * render checks that a probe text leaves ink and otherwise throws with the fix.
 */
import { BiflowError } from '../errors.js';
import { FONT } from './axes.js';

/** Options of {@link toPng}. */
export interface PngOptions {
  /** Font files (.ttf/.otf) to use besides the system's, e.g. where none are installed. */
  fontFiles?: readonly string[];
  /** Load the system's fonts too (default true); false renders with `fontFiles` alone. */
  systemFonts?: boolean;
}

type ResvgClass = typeof import('@resvg/resvg-js').Resvg;

const checked = new Map<string, boolean>();

function fontOptions({ fontFiles = [], systemFonts = true }: PngOptions) {
  return { loadSystemFonts: systemFonts, fontFiles: [...fontFiles], defaultFontFamily: FONT.split(',')[0]!, sansSerifFamily: FONT.split(',')[0]! };
}

/** Whether resvg with these fonts draws any ink for a line of text (cached per font list). */
function textHasInk(Resvg: ResvgClass, fonts: PngOptions): boolean {
  const key = `${fonts.systemFonts ?? true}\n${(fonts.fontFiles ?? []).join('\n')}`;
  let ok = checked.get(key);
  if (ok === undefined) {
    const probe = `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="24"><rect width="60" height="24" fill="white"/><text x="4" y="18" font-family="${FONT}" font-size="16">Hg 10</text></svg>`;
    const pixels = new Resvg(probe, { font: fontOptions(fonts) }).render().pixels;
    ok = false;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 128) { ok = true; break; }
    checked.set(key, ok);
  }
  return ok;
}

/**
 * Renders SVG text to PNG bytes at the SVG's own size (Node). Throws a {@link BiflowError} when
 * no font is available to draw text, rather than writing a figure without its labels.
 */
export async function toPng(svg: string, fonts: PngOptions = {}): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  if (svg.includes('<text') && !textHasInk(Resvg, fonts)) {
    throw new BiflowError('toPng: no font could be loaded to draw the figure\'s text (resvg found no system font). Install one, e.g. `apt-get install fonts-dejavu-core`, or pass { fontFiles: [\'/path/to/font.ttf\'] }.');
  }
  return new Resvg(svg, { fitTo: { mode: 'original' }, font: fontOptions(fonts) }).render().asPng();
}
