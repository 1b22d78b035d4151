// Writing plots to a run directory, each file whole or not at all (util/durable-fs), so a crash (or a
// retried activity) never leaves half a PNG that looks finished.
import * as path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/durable-fs';

/**
 * Renders an SVG string to PNG with sharp (librsvg). `scale` 2 gives a sharp image on high-DPI screens.
 * Text needs a system font: on Debian the `fonts-dejavu-core` package (the SVGs ask for DejaVu Sans).
 */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

export interface PlotFiles {
  svg: string;
  png?: string;
}

/** Writes `<dir>/<name>.svg` and (unless png is false) `<dir>/<name>.png`; returns their paths. */
export async function writePlot(dir: string, name: string, svg: string, opts: { png?: boolean; scale?: number } = {}): Promise<PlotFiles> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new Error(`writePlot: plot name "${name}" must be letters, digits, dot, dash or underscore (it becomes a file name)`);
  }
  const svgPath = path.join(dir, `${name}.svg`);
  await writeFileAtomic(svgPath, svg);
  if (opts.png === false) return { svg: svgPath };
  const pngPath = path.join(dir, `${name}.png`);
  await writeFileAtomic(pngPath, await svgToPng(svg, opts.scale ?? 2));
  return { svg: svgPath, png: pngPath };
}
