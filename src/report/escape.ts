// One escaper for HTML text, HTML attributes and SVG (XML) text: everything that comes from run data
// (identity names, config strings, notes) passes through here before it lands in markup.

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes &, <, >, " and ' so the text is safe in element content and in quoted attributes. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}
