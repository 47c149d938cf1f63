// Which words of an incident's guidance to show (issue 19). With an OpenAI-compatible endpoint configured
// the server adds `guidance.rewrite`: "pending" on the first read, then "done" with the rewritten four-part
// text, or "fallback" with the reason. The rewrite is what the wearer and the guardian read when it is
// done; otherwise (pending, fallback, no endpoint) the knowledge base's four parts stand. No React here.
import type { Guidance } from '../api/types';

/** While a rewrite is pending the incident is read again this often, at most this many times. */
export const REWRITE_POLL_MS = 2000;
export const REWRITE_POLL_TRIES = 5;

export type GuidanceWording =
  /** The endpoint's rewrite, plain text with line breaks. */
  | { source: 'rewrite'; text: string }
  /** The knowledge base's parts; `pending`: a rewrite may still come. */
  | { source: 'knowledge'; pending: boolean };

export function guidanceWording(g: Guidance | null | undefined): GuidanceWording {
  const r = g?.rewrite;
  if (r?.state === 'done' && typeof r.text === 'string' && r.text.trim() !== '') return { source: 'rewrite', text: r.text };
  return { source: 'knowledge', pending: r?.state === 'pending' };
}

/** Is a rewrite still to come (read the incident again shortly)? */
export const rewritePending = (g: Guidance | null | undefined): boolean => g?.rewrite?.state === 'pending';

/**
 * The guidance to keep when the incident is read again. The server asks for a new rewrite whenever the
 * incident changes (a new phase, say), so a read may answer "pending" for words already rewritten: while
 * the knowledge base's text is the same, the rewrite already shown stays until the new one is done.
 */
export function mergeGuidance(prev: Guidance | null | undefined, next: Guidance | null | undefined): Guidance | null | undefined {
  if (
    next &&
    prev &&
    next.rewrite?.state === 'pending' &&
    prev.rewrite?.state === 'done' &&
    prev.text === next.text &&
    prev.language === next.language
  ) {
    return { ...next, rewrite: prev.rewrite };
  }
  return next;
}

export interface RewritePart {
  /** 1–4 for a line that starts "1." … "4."; null for lines before the first numbered one. */
  n: number | null;
  lines: string[];
}

/**
 * The rewrite as parts to lay out like the four parts. A part starts at the line "1.", then "2.", "3.", "4."
 * in order, as the server checks them (after any Markdown heading, quote or emphasis marks); the lines
 * after it belong to it, so a numbered list inside a part stays in it. Markdown marks are taken out and
 * the words are shown as text, never as HTML.
 */
export function rewriteParts(text: string): RewritePart[] {
  const parts: RewritePart[] = [];
  let next = 1;
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw
      .replace(/^[\s#>]+/, '')
      .replace(/\*\*|__/g, '')
      .replace(/^\*+(?=\d)/, '')
      .replace(/^[*-]\s+/, '• ')
      .trim();
    if (line === '') continue;
    const last = parts[parts.length - 1];
    if (next <= 4 && line.startsWith(`${next}.`)) {
      parts.push({ n: next, lines: [line] });
      next += 1;
    } else if (last) last.lines.push(line);
    else parts.push({ n: null, lines: [line] });
  }
  return parts;
}
