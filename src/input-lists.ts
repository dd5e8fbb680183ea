/**
 * Splits a list input the way the docker actions do: one item per line, and commas also separate
 * items unless the input's values may contain commas themselves (build-args, labels, secrets).
 * Blank lines and lines starting with '#' are dropped.
 */
export function parseList(text: string, { commas }: { commas: boolean }): string[] {
  const lines = text.split(/\r?\n/)
  const items = commas ? lines.flatMap(line => line.split(',')) : lines
  return items.map(item => item.trim()).filter(item => item !== '' && !item.startsWith('#'))
}

/** Splits "NAME=value" at the first '='; undefined when there is no '='. */
export function splitAssignment(item: string): { name: string; value: string } | undefined {
  const at = item.indexOf('=')
  if (at < 0) return undefined
  return { name: item.slice(0, at).trim(), value: item.slice(at + 1) }
}
