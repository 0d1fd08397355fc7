// The stage's logic, pure so `npm test` runs it under Node.

/** `text` with every term replaced, or `undefined` when it has none. */
export function replaceTerms(text: string, terms: Record<string, string>): string | undefined {
  const replaced = Object.entries(terms).reduce((text, [term, by]) => text.split(term).join(by), text);
  return replaced === text ? undefined : replaced;
}
